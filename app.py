"""Letters QA — Streamlit chat over the letters. Run: streamlit run app.py

Honours LETTERS_QA_CORPUS and LETTERS_QA_INDEX; all logic lives in app_support/. Two pages, Chat
and Benchmark, declared here with st.navigation (pages/ is not used).
"""
from pathlib import Path

import streamlit as st

ICON = Path(__file__).resolve().parent / "app_support" / "assets" / "icon.png"  # local: no CDN request

st.set_page_config(page_title="Letters QA", page_icon=str(ICON), layout="wide")

from app_support import benchmark_page, chat_page  # noqa: E402

st.navigation([st.Page(chat_page.main, title="Chat", url_path="chat", default=True),
               st.Page(benchmark_page.main, title="Benchmark", url_path="benchmark")]).run()
