"""Presenters: every sentence the assistant writes itself, one class per language.

Answers are made of typed parts (:class:`~assistant.answer.types.AnswerPart`); the framing
parts come from here, the claims from the evidence. Nothing downstream has to recognise our
own wording: the guard and the eval checker read the part kinds.
"""

from __future__ import annotations

import re
from typing import Protocol

from assistant.answer.rules import need_topics
from assistant.answer.types import Citation


class Presenter(Protocol):
    lang: str

    def chitchat(self, kind: str) -> str: ...
    def lead(self, titles: list[str]) -> str: ...
    def list_direct(self, label: str, names: list[str]) -> str: ...
    def list_intro(self, label: str, count: int = 0) -> str: ...
    def definition_direct(self, term: str, desc: str) -> str: ...
    def figure_direct(self, name: str, kind: str, figure: str) -> str: ...
    def yes(self, topic: str) -> str: ...
    def ranked(self, order: str) -> str: ...
    def part_label(self, phrase: str, n: int) -> str: ...
    def not_covered(self, reason: str, topic: str, phrase: str) -> str: ...
    def missing(self, phrase: str, needs: list[str]) -> str: ...
    def nearest_intro(self) -> str: ...
    def nearest_item(self, title: str, section: str, label: str = "") -> str: ...
    def draft_open(self, name: str) -> str: ...
    def draft_intro(self, titles: list[str]) -> str: ...
    def draft_missing(self, phrase: str, needs: list[str]) -> str: ...
    def draft_not_covered(self, topic: str) -> str: ...
    def draft_close(self) -> str: ...
    def sources(self, citations: list[Citation]) -> str: ...
    def support_lead(self) -> str: ...
    def support_annotation(self, kind: str, why: str, tags: list[str]) -> str: ...
    def support_next_step(self, kind: str, where: str) -> str: ...
    def support_note(self) -> str: ...
    def support_none(self) -> str: ...


def _titles(titles: list[str]) -> str:
    return "、".join(f"「{t}」" for t in dict.fromkeys(titles)) or "資料"


def _where(c: Citation, lang: str) -> str:
    pos = c.position or {}
    a, b = pos.get("line_start"), pos.get("line_end")
    if lang == "ja":
        lines = f"{a}–{b}行" if a is not None and a != b else f"{a}行"
    else:
        lines = f"lines {a}-{b}" if a is not None and a != b else f"line {a}"
    label = getattr(c, "label", "") or (c.section.split(" > ")[-1] if c.section else "")
    return f"{label}（{lines}）" if lang == "ja" else f"{label} ({lines})"


class JaPresenter:
    lang = "ja"

    def chitchat(self, kind: str) -> str:
        return {
            "greeting": "こんにちは。関西広域産業ビジョンと関連する法令について、資料に書かれていることを出典つきでお答えします。"
            "たとえば「数値目標は？」「令和5年度の事業と予算は？」のようにご質問ください。",
            "thanks": "どういたしまして。ほかにもご質問があれば、お気軽にどうぞ。",
            "bye": "ご利用ありがとうございました。またいつでもどうぞ。",
            "ack": "承知しました。ほかにもご質問があれば、お気軽にどうぞ。",
            "test": "はい、動作しています。関西広域産業ビジョンについてご質問ください。",
            "help": "関西広域産業ビジョンと関連する法令について、資料に書かれていることを出典つきでお答えします。"
            "数値目標、令和5年度の事業と予算、各チャレンジの取組み、用語の意味などをご質問ください。"
            "事業者の方は「支援を探す」で、職員の方は「回答案を作る」で問い合わせへの返信案も作れます。",
            "identity": "私は関西広域産業ビジョンの資料にもとづいて答える自動応答のアシスタントです（人間ではありません）。"
            "資料に書かれていることだけを、出典つきでお答えします。",
        }.get(kind, "ご質問をどうぞ。関西広域産業ビジョンについて、資料にもとづいてお答えします。")

    def lead(self, titles: list[str]) -> str:
        return f"{_titles(titles)}には、次の記載があります。"

    def list_direct(self, label: str, names: list[str]) -> str:
        return f"{label}は、{'、'.join(names)}です。"

    def list_intro(self, label: str, count: int = 0) -> str:
        what = f"次の{count}項目" if count else "次の項目"  # a count asked for: the items counted
        return (
            f"「{label}」として、{what}が挙げられています。"
            if label
            else f"{what}が挙げられています。"
        )

    def definition_direct(self, term: str, desc: str) -> str:
        return f"{term}は、{desc.rstrip('。')}。"

    def figure_direct(self, name: str, kind: str, figure: str) -> str:
        return f"{name}の{kind}は{figure}です。" if kind else f"{name}は{figure}です。"

    def yes(self, topic: str) -> str:
        return f"はい、「{topic}」について記載があります。" if topic else "はい、記載があります。"

    def ranked(self, order: str) -> str:
        return (
            "金額・数値の大きい順に並べると、次のとおりです。"
            if order == "max"
            else "金額・数値の小さい順に並べると、次のとおりです。"
        )

    def part_label(self, phrase: str, n: int) -> str:
        return f"【{phrase}について】" if phrase else f"【ご質問{n}】"

    def not_covered(self, reason: str, topic: str, phrase: str) -> str:
        if reason == "past_value":
            what = f"{phrase}の" if phrase else ""
            return (
                f"以前（前回改訂時など）の{what}数値は、資料には記載がありません。"
                "資料にあるのは今回のビジョンの目標値です（下の関連箇所をご覧ください）。"
            )
        if reason == "current_value":
            what = f"{phrase}の" if phrase else ""
            return (
                f"{what}現在の値（実績）は、資料には記載がありません。"
                "資料にあるのは目標値や見通しです（下の関連箇所をご覧ください）。"
            )
        if reason == "unknown":
            return f"申し訳ありません。「{topic}」については、資料には記載がありません。"
        if reason == "period":
            return f"申し訳ありません。{topic}については、資料には記載がありません。"
        if reason == "scope":
            return (
                f"「{topic}」だけの数値は、資料には記載がありません"
                f"（資料の数値は{topic}に限ったものではありません。下の関連箇所をご覧ください）。"
            )
        if reason == "amount":
            return (
                f"{phrase}について、金額や数値は資料に記載がありません。"
                if phrase
                else "その金額や数値は、資料に記載がありません。"
            )
        if reason == "yesno":
            return (
                f"いいえ、「{phrase}」についての記載は、資料には見当たりません。"
                if phrase
                else "いいえ、資料には記載が見当たりません。"
            )
        about = f"「{phrase}」について" if phrase else "ご質問の内容について"
        return f"申し訳ありません。{about}は、資料には記載がありません。"

    def missing(self, phrase: str, needs: list[str]) -> str:
        topics = "、".join(need_topics().get(n, (n, n))[0] for n in needs)
        about = f"{phrase}の" if phrase else ""
        return f"{about}{topics}については、資料に記載がありません。"

    def nearest_intro(self) -> str:
        return "関連する記載がある箇所:"

    def nearest_item(self, title: str, section: str, label: str = "") -> str:
        return _place(title, section, label)

    def draft_open(self, name: str) -> str:
        return f"{name}様\n\nお問い合わせいただき、誠にありがとうございます。"

    def draft_intro(self, titles: list[str]) -> str:
        return f"お問い合わせの件につきまして、{_titles(titles)}にもとづき、次のとおりご回答いたします。"

    def draft_missing(self, phrase: str, needs: list[str]) -> str:
        topics = "、".join(need_topics().get(n, (n, n))[0] for n in needs)
        about = f"{phrase}の" if phrase else ""
        return f"なお、{about}{topics}につきましては、現在の資料には記載がございません。担当部署に確認のうえ、改めてご連絡いたします。"

    def draft_not_covered(self, topic: str) -> str:
        about = f"「{topic}」につきましては" if topic else "お問い合わせの内容につきましては"
        return f"{about}、現在の資料には記載がございません。担当部署に確認のうえ、改めてご連絡いたします。"

    def draft_close(self) -> str:
        return (
            "ご不明な点がございましたら、お気軽にお問い合わせください。\n今後ともよろしくお願い申し上げます。\n\n"
            "関西広域連合 広域産業振興局\n担当: 〇〇"
        )

    def sources(self, citations: list[Citation]) -> str:
        lines = ["【出典】"]
        for c in citations:
            lines.append(f"[{c.n}] {c.title} {_where(c, 'ja')}")
        return "\n".join(lines)

    def support_lead(self) -> str:
        return (
            "ご相談の内容に関係しそうな取組み・事業は次のとおりです（関西広域産業ビジョンより）。"
        )

    def support_annotation(self, kind: str, why: str, tags: list[str]) -> str:
        parts = [kind]
        if why:
            parts.append(why.rstrip("。"))
        if tags:
            parts.append("該当: " + "・".join(dict.fromkeys(tags)))
        return "〔" + "。".join(parts) + "〕"

    def support_next_step(self, kind: str, where: str) -> str:
        if kind == "事業":
            return f"次の一歩: 資料の「{where}」に載っている令和5年度の事業です。参加や募集の有無・方法は資料に書かれていないため、関西広域連合（広域産業振興局）に事業名を添えてお問い合わせください。"
        return f"次の一歩: 資料の「{where}」に掲げられた取組みの方向性で、申請できる制度とは限りません。関連する具体的な事業や支援があるかを、関西広域連合（広域産業振興局）にお問い合わせください。"

    def support_note(self) -> str:
        return (
            "※ 資料には、これらの取組み・事業の申請方法・締切・補助率・連絡先は書かれていません。"
        )

    def support_none(self) -> str:
        return "申し訳ありません。ご相談の内容に合う取組み・事業は、資料には見当たりませんでした。"


class EnPresenter:
    lang = "en"

    def chitchat(self, kind: str) -> str:
        return {
            "greeting": "Hello! I answer questions about the Kansai industrial vision and related statutes, "
            "from the documents and with their sources. Try “What are the numerical targets?”.",
            "thanks": "You're welcome. Ask me anything else about the documents.",
            "bye": "Thank you for using the assistant. Goodbye!",
            "ack": "All right. Ask me anything else about the documents.",
            "test": "Yes, I'm working. Ask me a question about the Kansai industrial vision.",
            "help": "I answer questions about the Kansai industrial vision and related statutes from the "
            "documents, with sources: targets, the FY2023 programmes and budgets, each challenge's "
            "initiatives, what a term means. Businesses can look for fitting support; staff can draft replies.",
            "identity": "I'm an automated assistant (not a person): I answer only from the documents "
            "of the Kansai industrial vision, and show the passages I relied on.",
        }.get(kind, "Ask me a question about the Kansai industrial vision.")

    def lead(self, titles: list[str]) -> str:
        return "The documents say the following (quoted from the Japanese source):"

    def list_direct(self, label: str, names: list[str]) -> str:
        return ", ".join(names)

    def list_intro(self, label: str, count: int = 0) -> str:
        if count:
            return f"The document lists {count} (quoted in Japanese):"
        return "The document lists the following (quoted in Japanese):"

    def definition_direct(self, term: str, desc: str) -> str:
        return f"{term}: {desc}"

    def figure_direct(self, name: str, kind: str, figure: str) -> str:
        return f"{name}: {figure}"

    def yes(self, topic: str) -> str:
        return "Yes, the documents mention it (quoted in Japanese):"

    def ranked(self, order: str) -> str:
        return (
            "Largest first (quoted in Japanese):"
            if order == "max"
            else "Smallest first (quoted in Japanese):"
        )

    def part_label(self, phrase: str, n: int) -> str:
        return f"[{n}] {phrase}" if phrase else f"[question {n}]"

    def not_covered(self, reason: str, topic: str, phrase: str) -> str:
        if reason == "past_value":
            return (
                "The documents do not give the earlier figure; they give the targets of this "
                "revision (see the related passages below)."
            )
        if reason == "current_value":
            return (
                "The documents do not give a current (actual) figure for this; "
                "they give targets or projections (see the related passages below)."
            )
        if reason in ("unknown", "period"):
            return f"Sorry — the documents do not say anything about {topic}."
        if reason == "scope":
            return (
                f"The documents give no figure for {topic} alone (the figures they give are "
                "not limited to it; see the related passages below)."
            )
        if reason == "amount":
            return "The documents do not give a figure or amount for this."
        if reason == "date":
            return "The documents do not give a date for this."
        if reason == "yesno":
            return "No — the documents do not appear to mention this."
        return "Sorry — the documents do not say anything on this question."

    def missing(self, phrase: str, needs: list[str]) -> str:
        topics = ", ".join(need_topics().get(n, (n, n))[1] for n in needs)
        return f"The documents do not give {topics}."

    def nearest_intro(self) -> str:
        return "Related sections:"

    def nearest_item(self, title: str, section: str, label: str = "") -> str:
        return _place(title, section, label)

    def draft_open(self, name: str) -> str:
        return f"Dear {name},\n\nThank you for your inquiry."

    def draft_intro(self, titles: list[str]) -> str:
        return "Based on the documents, we can answer as follows (quoted in Japanese):"

    def draft_missing(self, phrase: str, needs: list[str]) -> str:
        topics = ", ".join(need_topics().get(n, (n, n))[1] for n in needs)
        return f"The documents do not give {topics}; we will check with the responsible department and get back to you."

    def draft_not_covered(self, topic: str) -> str:
        return "The documents do not cover this point; we will check with the responsible department and get back to you."

    def draft_close(self) -> str:
        return "Please do not hesitate to contact us with any further questions.\n\nBest regards,\nUnion of Kansai Governments, Industrial Promotion Bureau\nContact: ___"

    def sources(self, citations: list[Citation]) -> str:
        lines = ["Sources:"]
        for c in citations:
            lines.append(f"[{c.n}] {c.title} {_where(c, 'en')}")
        return "\n".join(lines)

    def support_lead(self) -> str:
        return "These initiatives and programmes of the Kansai industrial vision may fit (quoted in Japanese):"

    def support_annotation(self, kind: str, why: str, tags: list[str]) -> str:
        kind_en = "FY2023 programme" if kind == "事業" else "direction of the vision"
        match = f"; matches: {', '.join(dict.fromkeys(tags))}" if tags else ""
        return f"〔{kind_en}{match}〕"

    def support_next_step(self, kind: str, where: str) -> str:
        if kind == "事業":
            return f"Next step: this FY2023 programme is listed under “{where}”. The document gives no application details: ask the Union of Kansai Governments (Industrial Promotion Bureau) about it by name."
        return f"Next step: this is a direction set out under “{where}”, not necessarily a programme you can apply to; ask the Union of Kansai Governments (Industrial Promotion Bureau) whether a concrete programme exists."

    def support_note(self) -> str:
        return "Note: the documents give no application procedure, deadline, subsidy rate or contact for these."

    def support_none(self) -> str:
        return "Sorry — nothing in the documents seems to match your business."


def presenter(lang: str) -> Presenter:
    return JaPresenter() if lang == "ja" else EnPresenter()


def _place(title: str, section: str, label: str) -> str:
    """Where a passage is: a statute by its citation label and the article's caption
    (「地方自治法 第291条の4第4項(規約等)」, not the bare 「第4項」 its section path ends in);
    another document by its title and last heading."""
    parts = section.split(" > ") if section else []
    if label:
        article = next((x for x in reversed(parts) if re.match(r"第\S+条", x)), "")
        caption = re.search(r"(\([^()]*\))$", article)
        return f"{label}{caption.group(1)}" if caption else label
    return f"{title} — {parts[-1]}" if parts else title
