"""Letters QA — Streamlit chat over the letters. Run: streamlit run app.py

Honours LETTERS_QA_CORPUS and LETTERS_QA_INDEX; all logic lives in app_support/.
"""
import streamlit as st

st.set_page_config(page_title="Letters QA", page_icon=":material/mail:", layout="wide")

from app_support.chat_page import main  # noqa: E402

main()
