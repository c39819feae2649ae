"""What every refusal of the command line looks like, checked in one place."""


def refused(cli, *args, says) -> str:
    """Exit 2 and one paragraph, `densekit: error: …`, holding each of `says` (the problem and
    its fix); no traceback. Returns the message."""
    code, _, err = cli(*args)
    assert code == 2, err
    assert "Traceback" not in err and err.startswith("densekit: error: "), err
    assert err.strip().count("\n") == 0, err  # one paragraph
    for words in says:
        assert str(words) in err, err
    return err
