"""Letters QA — Streamlit chat over the letters. Run: streamlit run app.py

Honours LETTERS_QA_CORPUS and LETTERS_QA_INDEX; all logic lives in app_support/. Two pages, Chat
and Benchmark, declared here with st.navigation (pages/ is not used).

`streamlit run app.py` serves this file as an st.App: the server imports it once at start (and skips
its scan for custom components when the installed packages have not changed since it found none:
app_support.server_start), and its lifespan starts opening the model and the index and asking a
warm-up question in the background (app_support.resources.preload) while the browser loads the page. Each browser session then runs this file
as its page script (Streamlit names that run `__main__`).
"""
from pathlib import Path

import streamlit as st

ICON = Path(__file__).resolve().parent / "app_support" / "assets" / "icon.png"  # local: no CDN request

if __name__ == "__main__":  # a session's script run
    st.set_page_config(page_title="Letters QA", page_icon=str(ICON), layout="wide")

    from app_support import benchmark_page, chat_page

    st.navigation([st.Page(chat_page.main, title="Chat", url_path="chat", default=True),
                   st.Page(benchmark_page.main, title="Benchmark", url_path="benchmark")]).run()
else:  # imported by `streamlit run` to be served
    from app_support.resources import preload, settings
    from app_support.server_start import remember_empty_component_scan
    from index.onnx_export import default_cache_dir

    remember_empty_component_scan(settings().cache_dir or default_cache_dir())
    app = st.App(__file__, lifespan=preload)
