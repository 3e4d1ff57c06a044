""""Export conversation": the chat history as Markdown (for reading) and JSON (with citations, as
the CLI writes them: canonical quotes and offsets). Pure: history in, text out."""
from __future__ import annotations

import json

from index.markup import plain


def _user_and_reply(history: list[dict]):
    question = None
    for msg in history:
        if msg["role"] == "user":
            question = msg.get("text", "")
        else:
            yield question, msg
            question = None


def conversation_json(history: list[dict]) -> str:
    turns = []
    for question, msg in _user_and_reply(history):
        turn: dict = {"question": question, "kind": msg.get("kind", "text")}
        if msg.get("interpreted"):
            turn["interpreted_as"] = msg["interpreted"]
        if msg.get("letter_note"):
            turn["letter_used"] = msg.get("bound_letter")
        if msg.get("kind") == "answer":
            answer = msg["answer"].to_json()
            answer.pop("signals", None)
            # the answer's own "question" is the one it answered (a follow-up resolved); keep both
            turn |= answer | {"question": question, "asked": msg["answer"].question,
                              "confidence_words": msg.get("words")}
        elif msg.get("kind") == "compare":
            turn["rows"] = [{k: v for k, v in row.items() if k != "open"} for row in msg["rows"]]
        else:
            turn["text"] = msg.get("text")
        turns.append(turn)
    return json.dumps({"conversation": turns}, ensure_ascii=False, indent=2) + "\n"


def conversation_markdown(history: list[dict]) -> str:
    out = ["# Letters QA conversation", ""]
    for question, msg in _user_and_reply(history):
        out += [f"**Question:** {question}", ""]
        if msg.get("interpreted"):
            out += [f"_Interpreted as: {msg['interpreted']}_", ""]
        if msg.get("letter_note"):
            out += [f"_{msg['letter_note']}_", ""]
        kind = msg.get("kind")
        if kind == "answer":
            answer = msg["answer"]
            if answer.abstained:
                out += ["**Answer:** not found in the letters.", ""]
            else:
                out += [f"**Answer:** {plain(answer.answer)} ({msg.get('words', '')})", ""]
                for c in answer.citations:
                    where = ", ".join(v for v in (c.sender, c.date, c.source) if v)
                    out += [f"> {plain(c.quote)}", f"> — {where}", ""]
        elif kind == "compare":
            out += ["| Answer | Letter | Sender | Date | Confidence |", "|---|---|---|---|---|"]
            for row in msg["rows"]:
                cells = [row["answer"], row["letter"], row["sender"], row["date"], row["confidence"]]
                out.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
            out.append("")
        else:
            out += [str(msg.get("text", "")), ""]
    return "\n".join(out)
