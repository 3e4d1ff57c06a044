"""The Chat page: letters sidebar with filters, uploads and removal, chat with cited answers,
compare mode, feedback, export.

Letter text is untrusted: it reaches the page only as display text (index.markup, markup
removed) passed through `escape_markdown`/`escape_inline`; unsafe_allow_html is never used.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
import weakref
from pathlib import Path

import streamlit as st

from app_support import admin, resources
from app_support.confidence import FOUND, NOT_FOUND, ConfidenceBands, confidence_help, confidence_words
from index.markup import plain
from app_support.export import conversation_json, conversation_markdown
from app_support.followup import letter_phrases, refers_to_previous_letter, resolve_follow_up
from app_support.tables import compare_rows, is_iso_date, letter_label, letters_by_date, make_filters, rows_to_csv
from app_support.text import escape_inline, escape_markdown, highlight_quote, paragraph_after, passage_in_context
from app_support.uploads import UploadRejected, check_upload, find_duplicate, remove_letter, save_upload
from eval.feedback import FeedbackStore, feedback_path
from retrieval.assistant import MAX_QUESTION_CHARS

log = logging.getLogger(__name__)
REMOVED_DIR = "removed-letters"  # inside the index folder: removed letters are kept, not deleted
# Example questions about the shipped letters; each is offered only while its letter is indexed.
EXAMPLES = (("What grants does the Safer Communities Fund offer?", "west-yorkshire-pcc-2020-06-19-prevent-response.txt"),
            ("What did Greater Manchester say about training?", "gmca-2020-05-04-prevent-response.txt"),
            ("Who signed the letter from West Yorkshire?", "west-yorkshire-pcc-2020-06-19-prevent-response.txt"))
_BADGE = {FOUND: "green", NOT_FOUND: "gray"}
_NAMES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # Assistant (one build) → its letter names
_NAMES_LOCK = threading.Lock()


def letter_names(assistant) -> list[str]:
    """The phrases that name a letter of this Assistant's build (followup.letter_phrases), computed
    once per build: the corpus vocabulary behind them reads every letter."""
    with _NAMES_LOCK:
        names = _NAMES.get(assistant)
        if names is None:
            names = _NAMES[assistant] = letter_phrases((d.metadata for d in assistant.documents),
                                                       assistant.vocabulary())
        return names


# --- session state ---------------------------------------------------------------------------------
def _init_state() -> None:
    ss = st.session_state
    ss.setdefault("history", [])  # list of message dicts
    ss.setdefault("last_question", None)  # the last question as interpreted (for follow-ups)
    ss.setdefault("last_letter", None)  # the letter the last answer came from (for "it", "the letter")
    ss.setdefault("upload_report", None)
    ss.setdefault("uploader_generation", 0)


def _new_conversation() -> None:
    st.session_state["history"] = []
    st.session_state["last_question"] = None
    st.session_state["last_letter"] = None


def _feedback_store(settings) -> FeedbackStore:
    return FeedbackStore(feedback_path(settings.index_dir))


def _upload_limit_mb(settings) -> float:
    """The one upload limit: the indexer's (Settings.max_file_mb), never above the upload box's."""
    return min(float(settings.max_file_mb), float(st.get_option("server.maxUploadSize")))


def _report(saved=(), rejected=(), summary="", skipped=()) -> dict:
    return {"saved": list(saved), "rejected": list(rejected), "summary": summary, "skipped": list(skipped)}


# --- start-up ---------------------------------------------------------------------------------------
def _start(settings):
    """The Assistant, after visible start-up steps while the index is being built or opened (first run
    of a session before the server has opened it, or after a new build); None when there is nothing to
    answer from. The steps box is removed once everything is ready."""
    from index.building import NothingToIndex
    from index.store import IndexUnavailable

    ss = st.session_state
    name = resources.build_name(settings)
    if name is not None and (ss.get("ready_build") == name or resources.is_open(settings, name)):
        try:  # nothing to wait for: no steps (a new session of a server that is up starts at once)
            found = resources.assistant(settings)
            ss["ready_build"] = name
            return found
        except IndexUnavailable:
            pass
    steps = ss["startup_steps"] = []
    notice = st.empty()
    problem = None
    with notice.container():
        with st.status("Starting Letters QA…", expanded=True) as status:
            def step(text: str) -> None:
                steps.append(text)
                st.write(text)

            step("Checking the index of letters")
            if name is None:
                step("No index yet: reading the letters for the first time (this happens once)")
                try:
                    report = resources.build(settings, "Indexing the letters")
                    summary, skipped = resources.plain_summary(report, settings.corpus_dir)
                    ss["upload_report"] = _report(summary=summary, skipped=skipped)
                except NothingToIndex:
                    problem = "There are no letters to answer from yet."
                except FileNotFoundError:
                    problem = "The letters folder is missing."
            if problem is None:
                step("Loading the language model")
                resources.load_model(settings)
                step("Opening the index")
                try:
                    assistant = resources.assistant(settings)
                except IndexUnavailable as exc:
                    problem = f"The index cannot be used ({resources.hide_paths(str(exc), settings.index_dir)})."
            status.update(label="Ready" if problem is None else "Could not start", state="complete"
                          if problem is None else "error")
    notice.empty()
    if problem is not None:
        st.error(escape_inline(problem))
        if admin.is_admin():
            if "no letters" in problem:
                _upload_section(settings, st.container(border=True))
            elif st.button("Rebuild the index", key="rebuild"):
                resources.build(settings, "Rebuilding the index")
                st.rerun()
        else:
            admin.passphrase_form(st)
        return None
    ss["ready_build"] = resources.build_name(settings)
    return assistant


# --- sidebar ----------------------------------------------------------------------------------------
def _sidebar(settings, assistant):
    docs = assistant.documents
    sb = st.sidebar
    sb.header("Letters")
    sb.caption(f"{len(docs)} letter{'s' if len(docs) != 1 else ''}, newest first")
    is_admin = admin.is_admin()
    for d in letters_by_date(docs):
        m = d.metadata
        with sb.expander(escape_inline(letter_label(d))):
            for label, value in (("Subject", m.subject), ("Sender", m.sender), ("Role", m.role),
                                 ("Organisation", m.organisation), ("Date", m.date), ("To", m.recipient),
                                 ("Reference", m.reference), ("File", d.source)):
                if value:
                    st.markdown(f"**{label}:** {escape_inline(plain(value))}")
            if is_admin:
                _remove_control(settings, d)

    sb.header("Filters")
    labels = {d.source: letter_label(d) for d in docs}
    sources = sb.multiselect("Letters", options=[d.source for d in letters_by_date(docs)], key="f_letters",
                             format_func=lambda s: labels.get(s, s), placeholder="All letters")
    senders = sorted({d.metadata.sender for d in docs if d.metadata.sender})
    sender = sb.selectbox("Sender", [""] + senders, key="f_sender", format_func=lambda v: v or "Any sender")
    orgs = sorted({d.metadata.organisation for d in docs if d.metadata.organisation})
    organisation = sb.selectbox("Organisation", [""] + orgs, key="f_org",
                                format_func=lambda v: v or "Any organisation")
    dates = sorted(dt.date.fromisoformat(d.metadata.date) for d in docs if is_iso_date(d.metadata.date))
    date_range = None
    if sb.checkbox("Filter by date", key="f_use_dates"):
        low = dates[0] if dates else dt.date(2000, 1, 1)
        high = dates[-1] if dates else dt.date.today()
        picked = sb.date_input("Letters dated between", value=(low, high), key="f_dates", format="YYYY-MM-DD")
        date_range = picked if isinstance(picked, (tuple, list)) else (picked,)
    filters = make_filters(sources, sender, organisation, date_range)

    sb.header("Add letters")
    admin.passphrase_form(sb)
    if is_admin:
        _upload_section(settings, sb)
        from index.building import staleness

        if staleness(settings):
            sb.warning("Letters were added to or changed in the letters folder since the last indexing.")
        if sb.button("Update the index", key="reindex", help="Index letters put into the letters folder directly"):
            _reindex(settings)
            st.rerun()
    return filters


def _remove_control(settings, doc) -> None:
    ss = st.session_state
    if ss.get("confirm_remove") != doc.source:
        if st.button("Remove this letter…", key=f"remove-{doc.source}"):
            ss["confirm_remove"] = doc.source
            st.rerun()
        return
    st.warning(f"Remove {escape_inline(doc.source)} from the letters? Answers will no longer cite it.")
    yes, no = st.columns(2)
    if yes.button("Remove", key=f"remove-yes-{doc.source}", type="primary"):
        ss["confirm_remove"] = None
        _remove(settings, doc.source)
        st.rerun()
    if no.button("Keep", key=f"remove-no-{doc.source}"):
        ss["confirm_remove"] = None
        st.rerun()


def _remove(settings, source: str) -> None:
    if not admin.is_admin():
        return
    try:
        remove_letter(Path(settings.corpus_dir), source, Path(settings.index_dir) / REMOVED_DIR)
    except (UploadRejected, OSError) as exc:
        st.session_state["upload_report"] = _report(rejected=[f"could not remove {source}: {exc}"])
        return
    summary, skipped = _rebuild(settings, "Updating the index")
    st.session_state["upload_report"] = _report(saved=[f"removed {source}"], summary=summary, skipped=skipped)


def _reindex(settings) -> None:
    summary, skipped = _rebuild(settings, "Updating the index")
    st.session_state["upload_report"] = _report(summary=summary, skipped=skipped)


def _rebuild(settings, label: str) -> tuple[str, list[str]]:
    """Bring the index up to date with the letters folder: what happened, in words, and skipped files.
    A failed build leaves the previous index in use, and says so."""
    from index.building import NothingToIndex

    try:
        report = resources.build(settings, label)
    except NothingToIndex:
        return "There are no letters left to answer from.", []
    except Exception as exc:  # never a traceback on the page; the previous build stays current
        log.exception("indexing failed")
        return f"Indexing failed ({type(exc).__name__}); the previous index is still in use.", []
    return resources.plain_summary(report, settings.corpus_dir)


def _upload_section(settings, where) -> None:
    limit = _upload_limit_mb(settings)
    where.caption(f"Plain text, Markdown, PDF or Word files, up to {limit:g} MB each.")
    generation = st.session_state["uploader_generation"]
    files = where.file_uploader("Letters to add", type=["txt", "md", "pdf", "docx"], accept_multiple_files=True,
                                key=f"uploader-{generation}")
    if where.button("Add to the letters", key="add_letters", disabled=not files):
        _add_letters(settings, files or [])
        st.session_state["uploader_generation"] = generation + 1  # an empty box for the next letters
        st.rerun()
    report = st.session_state.get("upload_report")
    if report:
        for line in report["saved"]:
            where.success(escape_inline(line[:1].upper() + line[1:]) if line.startswith("removed")
                          else f"Added {escape_inline(line)}")
        for line in report["rejected"]:
            where.error(f"Not added: {escape_inline(line)}")
        for line in report["skipped"]:
            where.warning(escape_inline(line))
        if report.get("summary"):
            where.caption(escape_inline(report["summary"]))


def _add_letters(settings, files) -> None:
    if not admin.is_admin():
        return
    corpus = Path(settings.corpus_dir)
    limit = int(_upload_limit_mb(settings) * 1024 * 1024)
    saved, rejected = [], []
    for f in files:
        data = f.getvalue()
        try:
            checked = check_upload(f.name, data, limit)
            duplicate = find_duplicate(data, corpus)
            if duplicate is not None:
                rel = duplicate.relative_to(corpus).as_posix()
                raise UploadRejected(f"{checked.name}: the same letter is already in the letters as {rel}")
            path = save_upload(corpus, checked)
        except UploadRejected as exc:
            rejected.append(str(exc))
            continue
        except OSError as exc:
            rejected.append(f"{f.name}: could not save ({exc.strerror or exc})")
            continue
        rel = path.relative_to(corpus).as_posix()
        saved.append(rel if checked.name == Path(f.name).name and rel.endswith(checked.name) else f"{rel} (from {f.name})")
    summary, skipped = _rebuild(settings, "Indexing the new letters") if saved else ("", [])
    st.session_state["upload_report"] = _report(saved, rejected, summary, skipped)


# --- source viewer ----------------------------------------------------------------------------------
@st.dialog("Source letter", width="large")
def _source_viewer(source: str, char_start: int, char_end: int, answer_start: int | None,
                   answer_end: int | None) -> None:
    _render_source(source, char_start, char_end, answer_start, answer_end)


def _render_source(source, char_start, char_end, answer_start, answer_end) -> None:
    try:
        assistant = resources.assistant(resources.settings())
        doc = assistant.document(source)
        text = assistant.text(source)
    except Exception:  # the letter was removed from the index since
        doc = None
    if doc is None:
        st.warning("This letter is no longer among the letters.")
        return
    m = doc.metadata
    st.markdown(f"#### {escape_inline(plain(m.subject or m.title or source))}")
    st.caption(" · ".join(escape_inline(v) for v in (m.sender, m.role, m.date, source) if v))
    st.markdown("**Cited passage, in context**")
    with st.container(border=True):
        st.markdown(passage_in_context(text, char_start, char_end, answer_start, answer_end, radius=400))
    with st.expander("The whole letter (cited passage highlighted)"):
        st.markdown(passage_in_context(text, char_start, char_end, answer_start, answer_end, radius=len(text)))


# --- chat rendering ---------------------------------------------------------------------------------
def _badge(words: str) -> str:
    return f":{_BADGE.get(words, 'orange')}-badge[{escape_inline(words)}]"


def _notes(msg: dict) -> None:
    for key in ("interpreted", "letter_note", "filtered"):
        if msg.get(key):
            prefix = "Interpreted as: " if key == "interpreted" else ""
            st.caption(prefix + escape_inline(msg[key]))


def _copy_text(answer) -> str:
    lines = [f"Q: {answer.question}", f"A: {plain(answer.answer)}"]
    for c in answer.citations:
        lines.append(f"“{plain(c.quote)}” — {', '.join(v for v in (c.sender, c.date, c.source) if v)}")
    return "\n".join(lines)


def _render_answer(msg: dict, idx: int, bands: ConfidenceBands) -> None:
    answer = msg["answer"]
    _notes(msg)
    if answer.abstained:
        st.markdown(f"{_badge(NOT_FOUND)} The letters don't answer this question.")
        if msg.get("show_closest"):
            with st.expander("Closest passages (they do not answer it)"):
                for j, p in enumerate(answer.passages[:3]):
                    snippet = plain(p.text)
                    snippet = snippet if len(snippet) <= 400 else snippet[:400].rsplit(" ", 1)[0] + " …"
                    st.markdown(escape_markdown(snippet))
                    doc_label = msg["labels"].get(p.source, p.source)
                    if st.button(f"Open: {escape_inline(doc_label)}", key=f"open-{idx}-p{j}"):
                        _source_viewer(p.source, p.char_start, p.char_end, None, None)
        _actions(msg, idx, None)
        return
    words = msg.get("words") or confidence_words(answer.abstained, answer.confidence, bands)
    st.markdown(f"**{escape_inline(plain(answer.answer))}** &nbsp; {_badge(words)}", help=confidence_help(bands))
    for j, c in enumerate(answer.citations):
        with st.container(border=True):
            st.markdown(highlight_quote(c.quote, c.char_start, c.answer_start, c.answer_end))
            after = msg.get("after", {}).get(j)
            if after:
                st.caption("Continues: " + escape_inline(plain(after)))
            meta = [c.sender, c.date, f"page {c.page}" if c.page else None]
            left, right = st.columns([4, 1], vertical_alignment="center")
            left.caption(" · ".join(escape_inline(v) for v in meta if v))
            if right.button("Open in letter", key=f"open-{idx}-c{j}", help=f"Show the passage in {c.source}"):
                _source_viewer(c.source, c.char_start, c.char_end, c.answer_start, c.answer_end)
    _actions(msg, idx, _copy_text(answer))


def _actions(msg: dict, idx: int, copy_text: str | None) -> None:
    """👍/👎 (stored with the answer) and a copy button."""
    cols = st.columns([1, 1, 6], vertical_alignment="center")
    with cols[0]:
        st.feedback("thumbs", key=f"rate-{msg['answer_id']}", on_change=_rate, args=(msg["answer_id"],))
    if copy_text:
        with cols[1].popover("Copy", help="Copy the answer with its source"):
            st.code(copy_text, language=None, wrap_lines=True)


def _rate(answer_id: str) -> None:
    value = st.session_state.get(f"rate-{answer_id}")
    rating = None if value is None else (1 if value == 1 else -1)
    try:
        _feedback_store(resources.settings()).rate(answer_id, rating)
    except Exception:  # feedback must never break the chat
        log.exception("could not store feedback")


def _render_compare(msg: dict, idx: int) -> None:
    _notes(msg)
    rows = msg["rows"]
    answered = sum(1 for r in rows if r["answer"] != "not answered")
    st.markdown(f"Compared across {len(rows)} letter{'s' if len(rows) != 1 else ''}; {answered} answer it.")
    for j, row in enumerate(rows):
        with st.container(border=True):
            left, middle, right = st.columns([5, 4, 1.4], vertical_alignment="center")
            if row["open"] is None:
                left.markdown("*Not answered in this letter*")
            else:
                left.markdown(f"**{escape_inline(row['answer'])}** &nbsp; {_badge(row['confidence'])}")
            middle.caption(escape_inline(" · ".join(v for v in (row["sender"], row["date"], row["letter"]) if v)))
            if right.button("Open", key=f"open-{idx}-r{j}", disabled=row["open"] is None,
                            help=f"Show the passage in {row['letter']}"):
                _source_viewer(row["letter"], *row["open"])
            if row["quote"]:
                with st.expander("Quote"):
                    st.markdown(escape_markdown(row["quote"]))
    st.download_button("Download as CSV", rows_to_csv(rows), file_name="letters-qa-compare.csv",
                       mime="text/csv", key=f"csv-{idx}", on_click="ignore")


def _render_history(bands: ConfidenceBands) -> None:
    for idx, msg in enumerate(st.session_state["history"]):
        with st.chat_message(msg["role"]):
            kind = msg.get("kind", "text")
            if kind == "answer":
                _render_answer(msg, idx, bands)
            elif kind == "compare":
                _render_compare(msg, idx)
            elif kind == "error":
                st.warning(escape_inline(msg["text"]))
            else:
                st.markdown(escape_markdown(msg["text"]))


def _handle(question: str, assistant, filters, compare: bool, bands: ConfidenceBands, settings) -> dict:
    """Answer one question; always returns a message, never raises."""
    from retrieval import Filters, QuestionError

    ss = st.session_state
    docs = assistant.documents
    labels = {d.source: letter_label(d) for d in docs}
    names = letter_names(assistant)
    interpreted = resolve_follow_up(question, ss.get("last_question"), names)
    shown = interpreted if interpreted != " ".join(question.split()) else None
    bound = ss.get("last_letter")
    if compare or shown or bound not in labels or not refers_to_previous_letter(question, names):
        bound = None
    if bound is None and filters is not None and not any(filters.admits(d) for d in docs):
        return {"role": "assistant", "kind": "error",
                "text": "No letter matches the filters in the sidebar; widen them and ask again."}
    letter_note = f"About the letter of the previous answer: {labels[bound]}" if bound else None
    try:
        if compare:
            answers = assistant.compare(interpreted, filters=filters)
            return _remember(interpreted, None, {"role": "assistant", "kind": "compare", "interpreted": shown,
                                                 "rows": compare_rows(interpreted, answers, docs, bands)})
        answer = assistant.ask(interpreted, filters=Filters(sources=(bound,)) if bound else filters)
    except QuestionError as exc:
        return {"role": "assistant", "kind": "error", "text": f"I can't answer that as asked: {exc}."}
    except Exception:  # never show a traceback in the chat
        log.exception("question failed")
        return {"role": "assistant", "kind": "error",
                "text": "Sorry, something went wrong answering that. Please try rephrasing the question."}
    after = {}
    for j, c in enumerate(answer.citations):
        try:
            after[j] = paragraph_after(assistant.text(c.source), c.char_end)
        except KeyError:
            pass
    admitted = sum(1 for d in docs if filters is None or filters.admits(d))
    answer_id = uuid.uuid4().hex
    top = answer.citations[0].source if answer.citations and not answer.abstained else None
    try:
        _feedback_store(settings).record_answer(answer_id, question, interpreted, answer.answer, answer.abstained, top)
    except Exception:  # feedback must never break the chat
        log.exception("could not store the answer for feedback")
    msg = {"role": "assistant", "kind": "answer", "answer": answer, "answer_id": answer_id, "interpreted": shown,
           "labels": labels, "after": after, "letter_note": letter_note, "bound_letter": bound,
           "words": confidence_words(answer.abstained, answer.confidence, bands),
           "show_closest": bool(answer.passages) and (answer.signals or {}).get("passage_overlap", 0) > 0,
           "filtered": f"Searched {admitted} of {len(docs)} letters (filters on)" if filters and not bound else None}
    return _remember(interpreted, top or bound, msg)



def _remember(interpreted: str, letter: str | None, msg: dict) -> dict:
    st.session_state["last_question"] = interpreted
    st.session_state["last_letter"] = letter
    return msg


def _ask_example(question: str) -> None:
    st.session_state["pending_question"] = question


# --- page -------------------------------------------------------------------------------------------
def main() -> None:
    _init_state()
    settings = resources.settings()
    bands = ConfidenceBands.from_threshold(settings.abstain_threshold)
    st.title("Letters QA")
    st.caption("Ask questions about the letters; every answer is quoted from a letter, with its source.")
    assistant = _start(settings)
    if assistant is None:
        return
    filters = _sidebar(settings, assistant)

    history = st.session_state["history"]
    prompt = st.chat_input("Ask about the letters…",
                           key="question", max_chars=MAX_QUESTION_CHARS)
    question = prompt if prompt is not None else st.session_state.pop("pending_question", None)
    if question is not None:  # before the toolbar, so that the export holds this answer too
        history.append({"role": "user", "kind": "text", "text": question})
        with st.spinner("Searching the letters…"):
            compare = bool(st.session_state.get("compare_mode"))
            history.append(_handle(question, assistant, filters, compare, bands, settings))
    left, export, clear = st.columns([3, 1, 1], vertical_alignment="center")
    left.toggle("Compare across letters", key="compare_mode",
                help="Answer the same question once per letter, as a table you can download.")
    ss = st.session_state
    ss["export_markdown_text"], ss["export_json_text"] = conversation_markdown(history), conversation_json(history)
    with export.popover("Export conversation", disabled=not history, use_container_width=True):
        st.download_button("Markdown", ss["export_markdown_text"], file_name="letters-qa-conversation.md",
                           mime="text/markdown", key="export_md", on_click="ignore")
        st.download_button("JSON (with citations)", ss["export_json_text"],
                           file_name="letters-qa-conversation.json", mime="application/json", key="export_json",
                           on_click="ignore")
    with clear.popover("New conversation", disabled=not history, use_container_width=True):
        st.markdown("Clear this conversation? Export it first if you want to keep it.")
        st.button("Clear the conversation", key="new_conversation", on_click=_new_conversation, type="primary")

    if not history:
        indexed = {d.source for d in assistant.documents}
        examples = [q for q, source in EXAMPLES if source in indexed]
        if examples:
            st.markdown("**Try one of these**, then a follow-up such as *and what about Greater Manchester?* "
                        "or *who signed it?*")
            for j, example in enumerate(examples):
                st.button(example, key=f"example-{j}", on_click=_ask_example, args=(example,))
    _render_history(bands)
