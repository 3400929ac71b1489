import tmax_learner


def test_version() -> None:
    assert tmax_learner.__version__ == "0.1.0"
