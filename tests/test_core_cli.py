"""The command line: outputs, exit codes and one-line errors."""

import json
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYCHECK_STORE", str(tmp_path / "store"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "store"


def test_list_and_show(cli, toy_claims):
    code, out, _ = cli("list", "--claims", toy_claims, "--format", "json")
    assert code == 0
    ids = [row["id"] for row in json.loads(out)]
    assert "toy.mean" in ids
    code, out, _ = cli("show", "toy.mean", "--claims", toy_claims)
    assert code == 0 and "|mean - mu|" in out and "pause" in out


def test_run_agrees_then_served_from_store(cli, toy_claims, store):
    code, out, err = cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--format", "json")
    assert code == 0
    doc = json.loads(out)  # stdout holds the JSON report alone
    assert doc["schema"] == 1
    (res,) = doc["results"]
    assert res["verdict"] == "agrees" and res["controls"][0]["rejected"] is True
    assert {"name", "value", "tolerance", "passed"} <= set(res["checks"][0])
    assert res["provenance"]["versions"]["torch"]
    code, out, err = cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--format", "json")
    assert code == 0 and "served from the store" in err and json.loads(out)["results"][0]["cached"] is True
    code, _, err = cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--rerun")
    assert code == 0 and "served from the store" not in err


def test_run_family_and_out_dir(cli, toy_claims, tmp_path):
    out_dir = tmp_path / "runs" / "x"
    code, _, _ = cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--seeds", "2", "--set", "mu=0.3",
                     "--format", "md", "--out", str(out_dir))
    assert code == 0
    doc = json.loads((out_dir / "results.json").read_text())
    assert doc["results"][0]["params"]["mu"] == 0.3 and doc["results"][0]["seeds"] == [0, 1]
    assert (out_dir / "report.md").read_text().startswith("# theorycheck report")
    figures = sorted(p.name for p in (out_dir / "figures").iterdir())
    # short names: the claim figure (all panels), then one per check and control
    assert {"toy.mean.pdf", "toy.mean.png", "toy.mean-scaled-error.pdf", "toy.mean-control-scaled-error-vs-mu-1.png"} \
        <= set(figures)


def test_disagreement_exits_1(cli, toy_claims):
    code, _, _ = cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--set", "m=20", "--no-store")
    # with m = 20 the control (mu + 1) is only 4.5 standard errors away: not reliably rejected
    assert code in (0, 1)
    code, out, _ = cli("run", "toy.nan", "--claims", toy_claims, "--quick", "--format", "json", "--no-store")
    assert code == 2
    res = json.loads(out)["results"][0]
    assert res["verdict"] == "error" and "diverged" in res["message"] and "step" in res["message"]


@pytest.mark.parametrize("args,needle", [
    (["run", "toy.maen"], "unknown claim 'toy.maen'; did you mean 'toy.mean'?"),
    (["run", "toy.mean", "--set", "sigma=2"], "unknown parameter 'sigma'"),
    (["run", "toy.mean", "--set", "m=many"], "parameter 'm' expects int"),
    (["run", "toy.mean", "--set", "m=0"], "m must be at least 1"),
    (["run", "toy.mean", "--seeds", "0"], "--seeds must be at least 1"),
    (["run", "toy.mean", "--device", "tpu"], "invalid device 'tpu'"),
    (["run", "toy.mean", "--format", "docx"], "unknown --format 'docx'"),
    (["run", "toy.mean", "--quick", "--full"], "exclude each other"),
    (["sweep", "toy.mean", "--grid", "mu=1:0:5"], "stop (0) must be greater than start (1)"),
    (["sweep", "toy.mean", "--grid", "mu=0:1"], "must look like name=start:stop:num"),
    (["sweep", "toy.mean", "--grid", "nu=0:1:3"], "unknown parameter 'nu'"),
    (["sweep", "toy.mean", "--grid", "mu=0:1:3", "--executor", "mpi"], "unknown executor 'mpi'"),
])
def test_bad_input_one_line_exit_2(cli, toy_claims, store, args, needle):
    code, out, err = cli(*args, "--claims", toy_claims)
    assert code == 2
    assert needle in err and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert not store.exists()  # nothing was written


def test_bad_files_exit_2(cli, toy_claims, tmp_path, store):
    broken = Path(__file__).parent / "fixtures" / "broken_claims.py"
    code, _, err = cli("run", "--claims", str(broken), "toy.mean")
    assert code == 2 and "failed to import: RuntimeError: this claims file is broken on purpose" in err
    bad_toml = tmp_path / "p.toml"
    bad_toml.write_text('m = "lots"\n')
    code, _, err = cli("run", "toy.mean", "--claims", toy_claims, "--params", str(bad_toml))
    assert code == 2 and "parameter 'm' expects int, got 'lots'" in err
    bad_toml.write_text("m = [1, \n")
    code, _, err = cli("run", "toy.mean", "--claims", toy_claims, "--params", str(bad_toml))
    assert code == 2 and "not valid TOML" in err
    good_toml = tmp_path / "q.toml"
    good_toml.write_text("m = 500\nmu = 0.25\n")
    code, out, _ = cli("run", "toy.mean", "--claims", toy_claims, "--params", str(good_toml), "--format", "json")
    assert code == 0 and json.loads(out)["results"][0]["params"] == {"mu": 0.25, "m": 500, "pause": 0.0}


def test_errors_do_not_touch_existing_store(cli, toy_claims, store):
    assert cli("run", "toy.mean", "--claims", toy_claims, "--quick")[0] == 0
    before = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert cli("run", "toy.mean", "--claims", toy_claims, "--set", "m=-1")[0] == 2
    assert cli("run", "toy.nan", "--claims", toy_claims, "--quick")[0] == 2
    after = {p: p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert before == after


def test_new_scaffold_runs_and_agrees(cli, tmp_path):
    path = tmp_path / "mine.py"
    assert cli("new", "mine.gd-ls", "--out", str(path))[0] == 0
    code, out, _ = cli("run", "--claims", str(path), "mine.gd-ls", "--quick", "--format", "json", "--no-store")
    assert code == 0 and json.loads(out)["results"][0]["verdict"] == "agrees"
    code, _, err = cli("new", "mine.gd-ls", "--out", str(path))
    assert code == 2 and "exists already" in err


def test_report_figure_export(cli, toy_claims, tmp_path, store):
    out_dir = tmp_path / "r"
    assert cli("run", "toy.mean", "--claims", toy_claims, "--quick", "--out", str(out_dir))[0] == 0
    for fmt, ext, needle in (("html", "html", "data:image/png;base64,"), ("latex", "tex", r"\toprule"),
                             ("md", "md", "| `toy.mean` |"), ("json", "json", '"schema": 1')):
        assert cli("report", str(out_dir), "--format", fmt)[0] == 0
        assert needle in (out_dir / f"report.{ext}").read_text()
    assert cli("report", str(store), "--format", "latex", "--out", str(tmp_path / "t.tex"))[0] == 0
    table = (tmp_path / "t.tex").read_text()
    assert r"\textit{toy}" in table and r"\texttt{mean}" in table  # claims grouped under their family
    fig = tmp_path / "fig.pdf"
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--quick", "--out", str(fig))
    assert code == 0 and "from the stored quick run" in err  # the matching stored run, not a new one
    assert fig.read_bytes().startswith(b"%PDF")
    code, _, err = cli("figure", "toy.mean", "--claims", toy_claims, "--out", str(tmp_path / "fig.bmp"))
    assert code == 2 and "suffix" in err
    code, out, _ = cli("export")
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3 and {r["seed"] for r in rows} == {0, 1, 2}
    assert set(rows[0]["checks"]) == {"scaled error"} and rows[0]["provenance"]["seeds"] == [0, 1, 2]


def test_predict_rate_option(cli, toy_claims):
    def verdict(*args):
        code, out, err = cli("run", "--claims", toy_claims, "toy.decay", "--quick", "--no-store", "--format", "json",
                             *args)
        return code, (json.loads(out)["results"][0]["verdict"] if out else err)

    assert verdict() == (0, "agrees")
    assert verdict("--predict-rate", "1/sqrt(t)") == (0, "agrees")
    # a wrong law leaves a trend in value/law: it must come back disagrees, not agrees
    assert verdict("--predict-rate", "1/t") == (1, "disagrees")
    assert verdict("--predict-rate", "1/log(t)") == (1, "disagrees")
    code, err = verdict("--predict-rate", "t.__class__")
    assert code == 2 and "'t.__class__' is not allowed" in err
    code, err = verdict("--set", "predicted_rate=__import__('os')")
    assert code == 2 and "'__import__' is not allowed" in err
    code, err = verdict("--predict-rate", "t**(-p)")
    assert code == 2 and "free parameter" in err


def test_a_claim_with_no_counted_check_is_an_error(cli, toy_claims):
    code, out, _ = cli("run", "--claims", toy_claims, "toy.empty", "--quick", "--no-store", "--format", "json")
    res = json.loads(out)["results"][0]
    assert code == 2 and res["verdict"] == "error" and "toy.empty" in res["message"]
