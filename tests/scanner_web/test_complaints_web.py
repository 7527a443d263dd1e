"""The complaint channel through the Flask test client, on SQLite and PostgreSQL: filing anchors exactly one
ledger entry with no personal data; refused forms keep the text; photos are re-encoded without metadata; hostile
text stays text; the follow pages need the key."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from typing import Any

import pytest
from flask.testing import EnvironBuilder
from PIL import ExifTags, Image
from sqlalchemy import func, select

from ledger.models import Entry
from ledger.statements import parse_leaf
from tests.api.support import Chain, small_chain
from tests.conftest import LedgerHarness
from trace.complaint_models import Complaint, ComplaintPhoto, ComplaintRecipient
from trace.complaints import ANCHOR, COMMITMENT_DOMAIN

DESCRIPTION = "买回来的青菜里有一根铁丝，长约 3 厘米。"
CONTACT = "13800138000"


def _jpeg(size: tuple[int, int] = (64, 48), *, gps: bool = True) -> bytes:
    """A JPEG with a camera make, a GPS position and an orientation tag (rotate 90° to show upright)."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = 6
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update({ExifTags.GPS.GPSLatitudeRef: "N",
                                                   ExifTags.GPS.GPSLatitude: (26.0, 4.0, 30.0),
                                                   ExifTags.GPS.GPSLongitudeRef: "E",
                                                   ExifTags.GPS.GPSLongitude: (119.0, 17.0, 45.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels in a few dozen bytes (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def _token(client: Any, ref: str) -> str:
    page = client.get(f"/complaints/new?ref={ref}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert match is not None
    return match.group(1)


def _post(client: Any, ref: str, token: str | None, *, category: str = "foreign_matter",
          description: str = DESCRIPTION, contact: str = CONTACT,
          photos: list[tuple[bytes, str]] = (), lang: str = "en") -> Any:
    data: dict[str, Any] = {"ref": ref, "category": category, "description": description, "contact": contact,
                            "photos": [(io.BytesIO(content), name, "image/jpeg") for content, name in photos]}
    if token is not None:
        data["csrf_token"] = token
    # Encoded here so the temporary file werkzeug spools a large body into is closed (its test client leaves it).
    environ = EnvironBuilder(client.application, path="/complaints", query_string={"lang": lang}, method="POST",
                             data=data, content_type="multipart/form-data").get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()


def _size(harness: LedgerHarness) -> int:
    with harness.sessions() as session:
        return session.scalar(select(func.count()).select_from(Entry)) or 0


def _file(client: Any, chain: Chain, **fields: Any) -> tuple[str, str]:
    response = _post(client, chain.ref, _token(client, chain.ref), **fields)
    assert response.status_code == 303, response.get_data(as_text=True)
    match = re.fullmatch(r"/complaints/(TS-\d{4}-[2-9A-HJ-NP-Z]{6})\?key=([A-Za-z0-9_-]{32})", response.location)
    assert match is not None, response.location
    return match.group(1), match.group(2)


def test_filing_anchors_exactly_one_entry_without_personal_data(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    before = _size(harness)
    ticket, key = _file(client, chain, photos=[(_jpeg(), "IMG_0001.jpg")])
    assert _size(harness) == before + 1
    with harness.sessions() as session:
        complaint = session.get(Complaint, ticket)
        assert complaint is not None
        leaf = session.scalar(select(Entry.leaf).where(Entry.index == complaint.anchor_index))
        recipients = {row.party: row.roles for row in session.scalars(
            select(ComplaintRecipient).where(ComplaintRecipient.ticket == ticket))}
        assert complaint.key_sha256 == hashlib.sha256(key.encode()).hexdigest() and key not in complaint.key_sha256
    assert leaf is not None
    statement = parse_leaf(leaf).signed.statement
    assert statement.type == ANCHOR and statement.author == harness.keys.registrar.author
    assert set(statement.body) == {"batch", "category", "commitment", "received"}
    assert statement.body["batch"] == chain.ref and statement.body["commitment"] == complaint.commitment
    for private in (CONTACT, DESCRIPTION, ticket, key, complaint.salt):
        assert private.encode() not in leaf, "nothing about the complainant or the complaint's text is public"
    assert recipients == {chain.farm.code: "holder,producer", chain.market.code: "holder", "regulator": "regulator"}

    page = client.get(f"/complaints/{ticket}?key={key}&lang=en")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert ticket in text and DESCRIPTION in text and "Your complaint has been filed." in text
    assert CONTACT not in text and "138••••••00" in text, "the contact is shown masked"
    assert f"/api/v1/ledger/entries/{complaint.anchor_index}/bundle" in text
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    assert "Your complaint has been filed." not in client.get(f"/complaints/{ticket}?key={key}&lang=en").get_data(
        as_text=True), "the confirmation shows once"
    record = client.get(f"/complaints/{ticket}/record.json?key={key}")
    assert record.status_code == 200
    assert hashlib.sha256(COMMITMENT_DOMAIN + record.get_data()).hexdigest() == statement.body["commitment"]
    assert client.get(f"/api/v1/ledger/entries/{complaint.anchor_index}/bundle").status_code == 200


def test_a_form_without_a_valid_csrf_token_is_refused(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    before = _size(harness)
    _token(client, chain.ref)
    assert _post(client, chain.ref, None).status_code == 400
    assert _post(client, chain.ref, "forged-token").status_code == 400
    other = client.application.test_client()  # a token from another browser's session
    assert _post(client, chain.ref, _token(other, chain.ref)).status_code == 400
    assert _size(harness) == before


def test_refused_forms_say_why_and_keep_the_text(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    before = _size(harness)
    token = _token(client, chain.ref)
    photo = _jpeg()
    truncated = _jpeg((400, 300))
    truncated = truncated[:len(truncated) // 2]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"category": "rotten"}, "Choose what kind of problem it is."),
        ({"description": " \n\t "}, "Describe the problem."),
        ({"description": "长" * 2001}, "shorten it to 2000"),
        ({"contact": "x" * 101}, "longer than 100 characters"),
        ({"photos": [(photo, f"p{n}.jpg") for n in range(6)]}, "You attached 6 photos; at most 5"),
        ({"photos": [(photo + b"\0" * (8 * 1024 * 1024), "huge.jpg")]}, "huge.jpg is larger than 8 MB."),
        ({"photos": [(_png_header(30_000, 30_000), "bomb.png")]}, "bomb.png has more than 20 million pixels."),
        ({"photos": [(_png_header(6_000, 4_000), "big.png")]}, "big.png has more than 20 million pixels."),
        ({"photos": [(b"MZ\x90\x00 not a photo", "virus.exe")]}, "virus.exe is not a JPEG, PNG or WebP photo."),
        ({"photos": [(truncated, "cut.jpg")]}, "cut.jpg is damaged or incomplete"),
        ({"photos": [(photo, "ok.jpg"), (b"", "empty.jpg")]}, "empty.jpg is empty."),
    ]
    for fields, message in cases:
        values = {"description": DESCRIPTION, "contact": CONTACT, **fields}
        response = _post(client, chain.ref, token, **values)
        text = response.get_data(as_text=True)
        assert response.status_code == 400, (fields.keys(), response.status_code)
        assert message in text, (message, text[:3000])
        assert "Nothing you typed has been lost." in text
        if "description" not in fields:
            assert f">{DESCRIPTION}</textarea>" in text
        if "contact" not in fields:
            assert f'value="{CONTACT}"' in text
        if "photos" in fields:
            assert "attach your photos again" in text
    assert _size(harness) == before


def test_photos_are_stored_upright_without_exif_or_gps(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    original = _jpeg((64, 48))
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo), "the upload has a position"
    png = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 0, 255, 128)).save(png, "PNG", pnginfo=_png_text("Location", "26.07,119.29"))
    ticket, key = _file(client, chain, photos=[(original, "a.jpg"), (png.getvalue(), "b.png")])
    with harness.sessions() as session:
        stored = list(session.scalars(select(ComplaintPhoto).where(ComplaintPhoto.ticket == ticket)
                                      .order_by(ComplaintPhoto.position)))
    assert [photo.position for photo in stored] == [0, 1]
    for photo in stored:
        assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
        served = client.get(f"/complaints/{ticket}/photos/{photo.position}?key={key}")
        assert served.status_code == 200 and served.mimetype == "image/jpeg" and served.get_data() == photo.data
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        image = Image.open(io.BytesIO(photo.data))
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
        assert not {"icc_profile", "xmp", "comment", "Location"} & image.info.keys()
        assert b"PhoneMaker" not in photo.data and b"26.07" not in photo.data
    assert (stored[0].width, stored[0].height) == (48, 64), "turned upright by its orientation tag"
    assert (stored[1].width, stored[1].height) == (30, 20)


def _png_text(name: str, value: str) -> Any:
    from PIL.PngImagePlugin import PngInfo
    info = PngInfo()
    info.add_text(name, value)
    return info


def test_hostile_text_is_shown_as_text(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    hostile = ("<script>alert('x')</script><img src=x onerror=alert(1)>\x1b[31m\u202eexe.txt "
               + "长" * 1500 + "\n\" onmouseover=\"alert(2)")
    ticket, key = _file(client, chain, description=hostile, contact="<b>me</b>")
    text = client.get(f"/complaints/{ticket}?key={key}").get_data(as_text=True)
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>me" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;[31mexe.txt" in text
    assert "&#34; onmouseover=&#34;alert(2)" in text
    assert "\x1b" not in text and "\u202e" not in text
    response = client.get(f"/complaints/{ticket}?key={key}")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    with harness.sessions() as session:
        complaint = session.get(Complaint, ticket)
    assert complaint is not None and "\x1b" not in complaint.description and complaint.contact == "<b>me</b>"


def test_the_follow_pages_need_the_key(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    ticket, key = _file(client, chain, photos=[(_jpeg(), "a.jpg")])
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    for path in (f"/complaints/{ticket}?key={wrong}", f"/complaints/{ticket}", f"/complaints/{ticket}?key=",
                 f"/complaints/{ticket}/photos/0?key={wrong}", f"/complaints/{ticket}/record.json?key={wrong}",
                 f"/complaints/TS-2026-AAAAAA?key={key}", f"/complaints/{ticket}/photos/1?key={key}",
                 f"/complaints/not-a-ticket?key={key}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert DESCRIPTION not in response.get_data(as_text=True)
    found = client.get(f"/complaints/follow?ticket={ticket.lower().replace('-', ' ')}&key={key}")
    assert found.status_code == 303 and found.location == f"/complaints/{ticket}?key={key}"
    assert client.get("/complaints/follow?ticket=nonsense&key=x").status_code == 400
    assert client.get("/complaints/follow").status_code == 200


def test_complaints_need_a_batch_in_the_ledger(harness: LedgerHarness, client: Any) -> None:
    small_chain(harness)
    assert client.get("/complaints/new?ref=01/06901234000019/10/NOPE").status_code == 404
    assert client.get("/complaints/new").status_code == 404


def test_filing_is_rate_limited_per_address(harness: LedgerHarness) -> None:
    from api import create_app
    settings = harness.settings
    app = create_app({"database_url": settings.database_url, "ledger_origin": settings.ledger_origin,
                      "key_dir": settings.key_dir, "key_passphrase": settings.key_passphrase, "testing": True,
                      "rate_limit_complaints": "2 per minute"})
    try:
        client = app.test_client()
        chain = small_chain(harness)
        statuses = [_post(client, chain.ref, None).status_code for _ in range(3)]
        assert statuses == [400, 400, 429]
        assert client.get(f"/complaints/new?ref={chain.ref}").status_code == 200, "only filing is limited"
    finally:
        app.extensions["trace"].engine.dispose()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_form_is_translated(harness: LedgerHarness, client: Any, lang: str) -> None:
    chain = small_chain(harness)
    text = client.get(f"/complaints/new?ref={chain.ref}&lang={lang}").get_data(as_text=True)
    assert ("提交投诉" if lang == "zh" else "Submit the complaint") in text
    assert ("异物" if lang == "zh" else "Foreign matter") in text


def test_the_public_page_links_to_the_form_and_never_shows_a_complaint(harness: LedgerHarness, client: Any) -> None:
    chain = small_chain(harness)
    _file(client, chain, description="私密描述 unique-text-7731")
    public = client.get(f"/{chain.ref}?lang=en")
    assert public.status_code == 200
    text = public.get_data(as_text=True)
    assert "unique-text-7731" not in text and CONTACT not in text
    match = re.search(r'href="(/complaints/new\?ref=[^"]+)"', text)
    assert match is not None
    assert client.get(match.group(1).replace("&amp;", "&")).status_code == 200
