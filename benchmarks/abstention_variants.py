"""Compare ways of fitting the abstention model on the dev sets as wholes: one row per `Recipe`.

Each variant is fitted and validated exactly as `calibrate_answer_policy.py` does (in-sample, 5-fold CV by
dialogue, leave-one-set-out; the false-abstention budget threshold) on the same cached hits, and printed as a row of
the "What was tried" table in docs/conversation-engine.md: mtrag_cloud_govt's F1 and false abstentions, crosswoz_zh's
F1, covid's and dstc11's false abstentions, and the threshold fitted on all sets.

    PYTHONPATH=.:benchmarks .venv/bin/python benchmarks/abstention_variants.py
"""

from __future__ import annotations

from calibrate_answer_policy import FEATURES, FOLDS, Recipe, Scores, dev_sets, evaluate

VARIANTS = {
    "before: seven features, no declines": Recipe(declines=()),
    "+ unintroduced_reference, a feature": Recipe(features=(*FEATURES, "unintroduced_reference"), declines=()),
    "unintroduced_reference declines": Recipe(declines=("unintroduced_reference",)),
    "+ answer_type_missing, a feature": Recipe(features=(*FEATURES, "answer_type_missing"), declines=()),
    "answer_type_missing declines": Recipe(declines=("answer_type_missing",)),
    "reference and answer type decline": Recipe(declines=("unintroduced_reference", "answer_type_missing")),
    "+ asks_nothing declines (shipped)": Recipe(),
}


def f1s(results: dict[str, Scores]) -> str:
    return " / ".join(f"{results[column].f1:.3f}" for column in ("in-sample", f"{FOLDS}-fold CV", "leave-one-set-out"))


def main() -> None:
    rows = dev_sets().rows
    print(
        "| variant | mtrag F1 (in / CV / LOSO) | mtrag FA (in / LOSO) | crosswoz_zh F1 (in / CV) "
        "| covid FA (in / LOSO) | dstc11 FA (in / LOSO) | threshold |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, recipe in VARIANTS.items():
        model, table = evaluate(rows, FOLDS, recipe, quiet=True)
        mtrag, crosswoz, covid, dstc11 = (
            table[dev_set] for dev_set in ("mtrag_cloud_govt", "crosswoz_zh", "covid_faq_paraphrases", "dstc11_track5")
        )
        cv = f"{FOLDS}-fold CV"

        def fa(results: dict[str, Scores]) -> str:
            return f"{results['in-sample'].false_abstention:.3f} / {results['leave-one-set-out'].false_abstention:.3f}"

        print(
            f"| {name} | {f1s(mtrag)} | {fa(mtrag)} | {crosswoz['in-sample'].f1:.3f} / {crosswoz[cv].f1:.3f} "
            f"| {fa(covid)} | {fa(dstc11)} | {model.min_answer_probability:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
