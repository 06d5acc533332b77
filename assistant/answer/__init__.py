"""Cited answers: generators, the faithfulness guard, abstention, follow-ups and modes."""
