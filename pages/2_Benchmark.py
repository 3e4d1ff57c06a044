"""Letters QA — the question benchmark page (multipage app: pages/)."""
import streamlit as st

st.set_page_config(page_title="Letters QA — Benchmark", page_icon=":material/monitoring:", layout="wide")

from app_support.benchmark_page import main  # noqa: E402

main()
