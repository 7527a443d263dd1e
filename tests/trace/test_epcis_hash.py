"""CBV 2.0 event hash IDs: the published reference value, and the invariances the algorithm promises."""

from __future__ import annotations

import copy

import pytest

from trace.epcis import EpcisError, event_hash_id, prehash_string

#: GS1 EPC Event Hash Generator reference example ``epcisDocWithSingleEvent`` and its published hash ID.
SINGLE = {"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
          "epcList": ["urn:epc:id:sgtin:0614141.107346.2017", "urn:epc:id:sgtin:0614141.107346.2018"],
          "eventTime": "2022-02-16T20:33:31.116000-06:00", "eventTimeZoneOffset": "-06:00",
          "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
          "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/12345678"}]}
SINGLE_ID = "ni:///sha-256;3e0f2437f4cb5e8a1b832b769c0eed1bf3e1421f14061132e9800ded03f10182?ver=CBV2.0"
SINGLE_PREHASH = ("eventType=ObjectEventeventTime=2022-02-17T02:33:31.116ZeventTimeZoneOffset=-06:00epcList"
                  "epc=https://id.gs1.org/01/10614141073464/21/2017epc=https://id.gs1.org/01/10614141073464/21/2018"
                  "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-shipping"
                  "disposition=https://ref.gs1.org/cbv/Disp-in_transit"
                  "readPointid=https://id.gs1.org/414/0614141073467/254/1234"
                  "bizTransactionListbizTransaction=http://transaction.acme.com/po/12345678"
                  "type=https://ref.gs1.org/cbv/BTT-po")


def test_published_reference_value() -> None:
    assert prehash_string(SINGLE) == SINGLE_PREHASH
    assert event_hash_id(SINGLE) == SINGLE_ID


def test_digital_link_web_uri_and_other_time_zone_spellings_give_the_same_id() -> None:
    same = copy.deepcopy(SINGLE)
    same["epcList"] = ["https://example.com/01/10614141073464/21/2018?linkType=all",
                       "https://id.gs1.org/01/10614141073464/21/2017"]
    same["bizStep"] = "urn:epcglobal:cbv:bizstep:shipping"
    same["disposition"] = "https://ref.gs1.org/cbv/Disp-in_transit"
    same["eventTime"] = "2022-02-17T02:33:31.116Z"
    same["readPoint"] = {"id": "https://id.gs1.org/414/0614141073467/254/1234"}
    same["eventID"], same["recordTime"] = "urn:uuid:1", "2022-02-18T00:00:00Z"
    same["rdfs:comment"] = "comments take no part"
    assert event_hash_id(same) == SINGLE_ID


@pytest.mark.parametrize(("member", "value"), [("disposition", "in_progress"), ("eventTimeZoneOffset", "-05:00"),
                                                ("epcList", ["urn:epc:id:sgtin:0614141.107346.2017"])])
def test_any_change_changes_the_id(member: str, value: object) -> None:
    changed = {**SINGLE, member: value}
    assert event_hash_id(changed) != SINGLE_ID


def test_quantities_and_extensions() -> None:
    event = {"type": "ObjectEvent", "eventTime": "2019-10-21T14:58:56+02:00", "eventTimeZoneOffset": "+02:00",
             "action": "ADD", "quantityList": [{"epcClass": "urn:epc:class:lgtin:4054739.099914.20160711",
                                                "quantity": 600.0, "uom": "KGM"}],
             "ilmd": {"example:bestBefore": "2019-10-21"}, "example:note": {"example:a": "1"}}
    text = prehash_string(event, [{"example": "https://ns.example.com/epcis/"}])
    assert text == ("eventType=ObjectEventeventTime=2019-10-21T12:58:56.000ZeventTimeZoneOffset=+02:00"
                    "quantityListquantityElementepcClass=https://id.gs1.org/01/04054739999148/10/20160711"
                    "quantity=600uom=KGMaction=ADD"
                    "ilmd{https://ns.example.com/epcis/}bestBefore=2019-10-21"
                    "{https://ns.example.com/epcis/}note{https://ns.example.com/epcis/}a=1")


def test_event_without_time_is_refused() -> None:
    with pytest.raises(EpcisError) as refused:
        event_hash_id({"type": "ObjectEvent"})
    assert refused.value.code == "epcis.schema"
