"""The question rules are data (assistant/answer/rules/questions.toml): every rule carries the
questions it must match and must not; these tests are generated from them."""

from __future__ import annotations

import pytest

from assistant.answer.rules import Rule, load_rules
from assistant.answer.understand import Role, Understander
from assistant.text.tokenizer import get_tokenizer

TOK = get_tokenizer("sudachi")
RULES = load_rules(TOK)
TABLES = {"asks": RULES.asks, "when": RULES.when, "needs": RULES.needs, "chitchat": RULES.chitchat}


def _cases(kind: str) -> list[tuple[str, Rule, str]]:
    out = []
    for table, rules in TABLES.items():
        for name, rule in rules.items():
            for q in getattr(rule, kind):
                out.append((f"{table}.{name}", rule, q))
    return out


@pytest.mark.parametrize(("name", "rule", "question"), _cases("examples"))
def test_every_rule_matches_its_examples(name: str, rule: Rule, question: str) -> None:
    assert rule.cues.matches(TOK.parse(question), question), f"{name} misses {question!r}"


def _decided(name: str, question: str) -> bool:
    """Whether understanding the question ends with this rule's decision."""
    table, rule = name.split(".")
    u = Understander(TOK).understand(question)
    if table == "chitchat":
        return u.chitchat == rule
    if table == "needs":
        return any(rule in p.needs for p in u.parts)
    if table == "when":
        return any(p.when.value == rule for p in u.parts)
    wanted = "amount" if rule == "figure" else rule
    return any(p.asks.value == wanted for p in u.parts)


@pytest.mark.parametrize(("name", "rule", "question"), _cases("counter"))
def test_no_rule_decides_its_counter_examples(name: str, rule: Rule, question: str) -> None:
    """A cue word alone does not decide (「スタートアップ支援の予算は？」 is no support request;
    「こんにちは。GRPの目標は？」 is a question): the understanding of the whole message does."""
    assert not _decided(name, question), f"{name} decided for {question!r}"


def test_every_rule_has_examples() -> None:
    for table, rules in TABLES.items():
        for name, rule in rules.items():
            assert rule.examples, f"{table}.{name} has no examples"


def test_needs_say_what_evidence_would_answer_them() -> None:
    for name, rule in RULES.needs.items():
        assert rule.evidence is not None and rule.topic["ja"] and rule.topic["en"], name


@pytest.mark.parametrize("sentence", RULES.asker_examples)
def test_asker_examples_are_read_as_the_asker(sentence: str) -> None:
    u = Understander(TOK).understand(sentence + "GRPの目標額は？")
    assert u.sentences[0].role is Role.asker, [(s.role, s.text) for s in u.sentences]


@pytest.mark.parametrize("sentence", RULES.asker_counter)
def test_asker_counter_examples_are_questions(sentence: str) -> None:
    u = Understander(TOK).understand(sentence)
    assert all(s.role is not Role.asker for s in u.sentences)
