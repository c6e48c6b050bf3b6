"""The conda environments in envs/: conda-forge only, exact pins that satisfy pyproject.toml, and every
rule of the workflow names one of them.

No conda exists on the CI machines, so ``--use-conda`` cannot be exercised there; these tests keep the
environment files honest instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
ENVS_DIR = REPO / "envs"
ENV_FILES = sorted(ENVS_DIR.glob("*.yaml"))
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

# conda-forge names of PyPI distributions where they differ.
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "pytorch": "torch"}
# Runtime dependencies that the host Snakemake needs, not the jobs (Snakemake itself; pygments for --report).
HOST_ONLY = {"snakemake", "pygments"}
# Packages an env may hold beyond pyproject.toml: the interpreter, pip, and torchvision's image library.
TOOLING = {"python", "pip", "pillow"}
EXACT = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)\s*(?P<op>==|=)\s*(?P<version>[0-9][0-9A-Za-z.+\-]*)$")
RULE_HEADER = re.compile(r"^(?P<indent>\s*)(?P<kind>rule|checkpoint)\s+(?P<name>\w+)\s*:")
ACTIONS = ("script", "shell", "notebook", "wrapper", "run")


def parse_env(path: Path) -> dict:
    """channels, conda pins {pypi name: version} and pip pins {pypi name: version} of one env file."""
    env = yaml.safe_load(path.read_text())
    conda: dict[str, str] = {}
    pip: dict[str, str] = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            assert set(dep) == {"pip"}, f"{path.name}: unexpected dependency block {dep}"
            for line in dep["pip"]:
                match = EXACT.match(line)
                assert match and match["op"] == "==", f"{path.name}: pip entry {line!r} is not NAME==VERSION"
                pip[str(canonicalize_name(match["name"]))] = match["version"]
            continue
        match = EXACT.match(dep)
        assert match, f"{path.name}: {dep!r} is not pinned (NAME=VERSION)"
        assert "::" not in dep, f"{path.name}: {dep!r} names a channel"
        name = CONDA_TO_PYPI.get(match["name"], match["name"])
        conda[str(canonicalize_name(name))] = match["version"]
    both = set(conda) & set(pip)
    assert not both, f"{path.name}: {sorted(both)} both from conda and pip"
    return {"name": env.get("name"), "channels": env.get("channels", []), "conda": conda, "pip": pip}


def pyproject_requirements(*groups: str) -> dict[str, Requirement]:
    reqs = list(PYPROJECT["project"]["dependencies"])
    for group in groups:
        reqs += PYPROJECT["project"]["optional-dependencies"][group]
    return {str(canonicalize_name(Requirement(r).name)): Requirement(r) for r in reqs}


def test_there_are_env_files():
    assert [p.name for p in ENV_FILES], "no envs/*.yaml"
    assert (ENVS_DIR / "balenas.yaml") in ENV_FILES


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_uses_conda_forge_only(path):
    env = parse_env(path)
    assert env["name"], f"{path.name}: no name"
    assert env["channels"][0] == "conda-forge", env["channels"]
    assert "nodefaults" in env["channels"], f"{path.name}: without nodefaults conda adds the defaults channel"
    assert not {"defaults", "anaconda", "main", "r"} & set(env["channels"]), env["channels"]


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_pins_exact_versions(path):
    env = parse_env(path)
    for name, version in {**env["conda"], **env["pip"]}.items():
        try:
            Version(version)
        except InvalidVersion:
            pytest.fail(f"{path.name}: {name} pinned to {version!r}, not a version")
        if name != "python":  # python is pinned to its minor series, that of the host Snakemake
            assert version.count(".") >= 1, f"{path.name}: {name}={version} is not an exact version"
    python = env["conda"].get("python")
    assert python is not None, f"{path.name}: no python"
    assert Version(python) in SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}", (
        f"{path.name}: python={python}, but Snakemake runs on {sys.version_info.major}.{sys.version_info.minor} "
        "and its script preamble puts its own site-packages on the job's path"
    )


@pytest.mark.parametrize("path", ENV_FILES, ids=lambda p: p.name)
def test_env_satisfies_pyproject(path):
    env = parse_env(path)
    pins = {**env["conda"], **env["pip"]}
    runtime = pyproject_requirements()
    for name, req in runtime.items():
        if name in HOST_ONLY:
            continue
        assert name in pins, f"{path.name}: lacks {req} (pyproject.toml dependency)"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{path.name}: {name} {pins[name]} does not satisfy pyproject.toml's {req}"
        )
    extras = pyproject_requirements(*PYPROJECT["project"]["optional-dependencies"])
    for name, version in pins.items():
        if name in TOOLING or name in runtime:
            continue
        assert name in extras, f"{path.name}: {name} is in no pyproject.toml dependency list"
        assert extras[name].specifier.contains(version, prereleases=True), (
            f"{path.name}: {name} {version} does not satisfy pyproject.toml's {extras[name]}"
        )
    for name in HOST_ONLY:
        assert name not in pins, f"{path.name}: {name} belongs to the host Snakemake, not a job env"


def test_envs_agree_on_versions():
    seen: dict[str, tuple[str, str]] = {}
    for path in ENV_FILES:
        env = parse_env(path)
        for name, version in {**env["conda"], **env["pip"]}.items():
            if name in seen:
                assert seen[name][1] == version, f"{name}: {seen[name][0]} pins {seen[name][1]}, {path.name} {version}"
            seen[name] = (path.name, version)


# --- every rule names an env --------------------------------------------------------------------------
def rule_blocks(path: Path) -> dict[str, list[str]]:
    """Rule or checkpoint name -> the lines of its block, from the text of a Snakefile (snakefmt layout).

    Reads the text so that rules defined under an ``if`` (only when a config enables them) count too.
    """
    blocks: dict[str, list[str]] = {}
    current, indent = None, 0
    for line in path.read_text().splitlines():
        header = RULE_HEADER.match(line)
        if header:
            current, indent = header["name"], len(header["indent"])
            blocks[current] = []
        elif current and line.strip() and len(line) - len(line.lstrip()) <= indent:
            current = None
        elif current:
            blocks[current].append(line)
    return blocks


def directive(lines: list[str], name: str) -> str | None:
    """The value of ``name:`` in a rule block: on the same line or the next one."""
    for i, line in enumerate(lines):
        match = re.match(rf"^\s+{name}:\s*(.*)$", line)
        if match:
            value = match[1].strip() or (lines[i + 1].strip() if i + 1 < len(lines) else "")
            return value.strip("\"'")
    return None


def workflow_files() -> list[Path]:
    return [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]


def test_every_rule_in_the_rule_files_names_an_existing_env():
    rules = {}
    for path in workflow_files():
        for name, lines in rule_blocks(path).items():
            rules[name] = (path, lines)
    assert {"search", "report"} <= set(rules), sorted(rules)
    used = set()
    for name, (path, lines) in rules.items():
        actions = [a for a in ACTIONS if directive(lines, a) is not None]
        if not actions:
            continue  # a target rule such as `all` runs nothing
        assert actions != ["run"], f"rule {name} ({path.name}) uses run:, which cannot have a conda env; use script:"
        env = directive(lines, "conda")
        assert env, f"rule {name} ({path.name}) has no conda: directive"
        env_path = (path.parent / env).resolve()
        assert env_path.parent == ENVS_DIR and env_path.exists(), f"rule {name}: conda env {env} is not in envs/"
        used.add(env_path)
    assert used == set(ENV_FILES), f"env files no rule uses: {sorted(p.name for p in set(ENV_FILES) - used)}"


LOAD_RULES = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

    with SnakemakeApi(OutputSettings()) as api:
        wf = api.workflow(
            resource_settings=ResourceSettings(),
            config_settings=ConfigSettings(configfiles=[Path(p) for p in sys.argv[2:]]),
            snakefile=Path(sys.argv[1]),
            workdir=Path.cwd(),
        )
        rules = {
            r.name: {
                "conda": r.conda_env,
                "action": bool(r.script or r.shellcmd or r.notebook or r.wrapper or r.is_run),
                "snakefile": r.snakefile,
            }
            for r in wf._workflow.rules
        }
    print("RULES=" + json.dumps(rules, default=str))  # conda_env may be a source-file object
    """
)


@pytest.mark.parametrize("configfiles", [[], ["config/paper.yaml"]], ids=["default", "paper"])
def test_every_rule_snakemake_loads_names_an_existing_env(tmp_path, configfiles):
    """The same check on the rules as Snakemake itself defines them for the default and the paper config."""
    res = subprocess.run(
        [sys.executable, "-c", LOAD_RULES, str(REPO / "workflow" / "Snakefile"),
         *(str(REPO / c) for c in configfiles)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    rules = json.loads(res.stdout.split("RULES=")[-1])
    assert {"search", "report", "all"} <= set(rules)
    for name, rule in rules.items():
        if not rule["action"]:
            continue
        assert rule["conda"], f"rule {name} has no conda env"
        env_path = (Path(rule["snakefile"]).parent / rule["conda"]).resolve()
        assert env_path in ENV_FILES, f"rule {name}: {rule['conda']} is not one of envs/*.yaml"
