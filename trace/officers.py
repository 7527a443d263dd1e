"""Officers' signing keys: every action a staff account takes in the console or the API is a statement of the
registrar (the market-regulation bureau), signed by a key of that officer's own.

An officer's key is made on first use, kept encrypted under TRACE_KEY_PASSPHRASE, and registered in the ledger
by the operator as a registrar key labelled ``officer:{username}`` (``ledger.key.add``), so an export alone tells
which officer signed each authority statement. Disabling an account revokes its key (``ledger.key.revoke``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from ledger import AppendResult, LedgerConfig, Signer
from ledger.db import Base, UTCDateTime
from ledger.keys import decrypt_private_key, encode_public_key, encrypt_private_key
from ledger.rules import KEY_ADD, KEY_REVOKE

from .authority import AuthorityKeys
from .ledger_service import append_authored
from .policy import TracePolicy

LABEL_PREFIX = "officer:"


class OfficerKey(Base):
    """An officer's current signing key: the encrypted PKCS #8 PEM and the entry that registered it."""

    __tablename__ = "officer_keys"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    private_pem: Mapped[bytes] = mapped_column(LargeBinary)
    added_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Officers:
    """Signs and appends authority statements for staff accounts; one per application (it caches the decrypted
    keys, so the slow passphrase derivation runs once per officer and process)."""

    def __init__(self, sessions: sessionmaker[Session], keys: AuthorityKeys, config: LedgerConfig,
                 passphrase: str) -> None:
        self._sessions, self._keys, self._config, self._passphrase = sessions, keys, config, passphrase
        self._signers: dict[str, Signer] = {}
        self._lock = threading.Lock()

    def signer(self, username: str, clock: Callable[[], datetime]) -> Signer:
        """The officer's signer (author: the registrar), registering a new key in the ledger on first use."""
        with self._lock:
            cached = self._signers.get(username)
            if cached is not None:
                return cached
            with self._sessions() as session:
                row = session.get(OfficerKey, username)
                pem = None if row is None else row.private_pem
            if pem is None:
                try:
                    signer = self._enrol(username, clock)
                except IntegrityError:  # another process enrolled this officer first: use its key
                    return self._stored_signer(username)
            else:
                signer = Signer(self._keys.registrar.author, decrypt_private_key(pem, self._passphrase))
            self._signers[username] = signer
            return signer

    def _stored_signer(self, username: str) -> Signer:
        """The signer of the key another process stored for ``username`` (called with the lock held)."""
        with self._sessions() as session:
            row = session.get(OfficerKey, username)
            assert row is not None
            signer = Signer(self._keys.registrar.author, decrypt_private_key(row.private_pem, self._passphrase))
        self._signers[username] = signer
        return signer

    def append(self, username: str, type: str, body: dict[str, object], *, clock: Callable[[], datetime],
               record: Callable[[Session, AppendResult], None] | None = None,
               links: Sequence[str] = ()) -> AppendResult:
        """Sign ``type`` with ``body`` as officer ``username`` and append it (a commit of its own); ``record``
        adds rows in the same transaction; ``links`` names the batches it touches. Raises the statement's
        :class:`ledger.LedgerError` when refused."""
        return append_authored(self._sessions, self.signer(username, clock), type, body, config=self._config,
                               clock=clock, policy=TracePolicy(), record=record, links=links)

    def retire(self, username: str, reason: str, *, clock: Callable[[], datetime]) -> AppendResult | None:
        """Revoke the officer's key (the account was disabled); ``None`` when the officer never signed."""
        with self._lock:
            self._signers.pop(username, None)
            with self._sessions() as session:
                row = session.get(OfficerKey, username)
                key = None if row is None else row.key_id
            if key is None:
                return None
            body = {"subject": self._keys.registrar.author, "key": key, "reason": reason}

            def forget(session: Session, _result: AppendResult) -> None:
                stored = session.get(OfficerKey, username)
                if stored is not None:
                    session.delete(stored)
            return append_authored(self._sessions, self._keys.operator, KEY_REVOKE, body, config=self._config,
                                   clock=clock, policy=TracePolicy(), record=forget)

    def _enrol(self, username: str, clock: Callable[[], datetime]) -> Signer:
        private = Ed25519PrivateKey.generate()
        signer = Signer(self._keys.registrar.author, private)
        body = {"subject": signer.author, "public_key": encode_public_key(signer.public_key),
                "label": f"{LABEL_PREFIX}{username}"}

        def store(session: Session, result: AppendResult) -> None:
            session.add(OfficerKey(username=username, key_id=signer.key_id,
                                   private_pem=encrypt_private_key(private, self._passphrase),
                                   added_index=result.index, created_at=clock()))
        append_authored(self._sessions, self._keys.operator, KEY_ADD, body, config=self._config, clock=clock,
                        policy=TracePolicy(), record=store)
        return signer


def officer_of(label: str) -> str | None:
    """The username a registrar key label names, or ``None`` for the bureau's own key."""
    return label.removeprefix(LABEL_PREFIX) if label.startswith(LABEL_PREFIX) else None
