"""One module per upstream: ``<upstream>.py`` with ``build_objective(config) -> PretrainObjective``."""
