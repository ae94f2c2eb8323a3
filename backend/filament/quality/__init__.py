"""Quality tools on a live project: likely label errors (`label_issues`), near-duplicates
(`duplicates`), "more like this" (`neighbours`), the label forecast (`forecast`) and stop advice
(`stopping`); `training` is what the head-training job stores of them with each version, and
`browse` is what the items list sorts and filters by. The algorithms are in `filament.ml`
(`label_errors`, `similarity`, `forecast`, `stopping`)."""
