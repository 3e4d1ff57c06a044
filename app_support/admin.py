"""Who may change the corpus or start the benchmark.

Adding or removing letters and running the benchmark need the admin passphrase, read from
`.streamlit/secrets.toml` (`admin_passphrase = "…"`) or the environment variable
LETTERS_QA_ADMIN_PASSPHRASE. With no passphrase set these actions are open only when the server
listens on the loopback interface alone (the default in .streamlit/config.toml), i.e. only to
someone already on this machine; otherwise they are off.
"""
from __future__ import annotations

import hmac
import ipaddress
import os

import streamlit as st

ENV_PASSPHRASE = "LETTERS_QA_ADMIN_PASSPHRASE"
SECRET_NAME = "admin_passphrase"


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"; False for "" / 0.0.0.0 (every interface)."""
    value = (address or "").strip().strip("[]")
    if value.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(value).is_loopback
    except ValueError:
        return False


def configured_passphrase() -> str | None:
    value = os.environ.get(ENV_PASSPHRASE)
    if not value:
        try:
            value = st.secrets.get(SECRET_NAME)
        except Exception:  # no secrets.toml at all (Streamlit raises its own not-found error)
            value = None
    return str(value) if value else None


def admin_mode() -> str:
    """"passphrase" (a passphrase is set), "local" (none set, loopback-only server) or "off"."""
    if configured_passphrase():
        return "passphrase"
    return "local" if is_loopback(st.get_option("server.address")) else "off"


def is_admin() -> bool:
    mode = admin_mode()
    return mode == "local" or (mode == "passphrase" and bool(st.session_state.get("admin_ok")))


def passphrase_form(where) -> None:
    """The unlock box (only when a passphrase is set and this session has not given it yet)."""
    mode = admin_mode()
    if mode == "off":
        where.caption("Adding and removing letters is switched off: this server is reachable from other "
                      "machines and no admin passphrase is set.")
        return
    if mode != "passphrase" or st.session_state.get("admin_ok"):
        return
    given = where.text_input("Admin passphrase", type="password", key="admin_passphrase",
                             help="Needed to add or remove letters and to run the benchmark.")
    if given:
        if hmac.compare_digest(given.encode("utf-8"), (configured_passphrase() or "").encode("utf-8")):
            st.session_state["admin_ok"] = True
            st.rerun()
        else:
            where.error("That passphrase is not right.")
