"""Mutation testing of the core modules (`make mutate`, issue 19): how much of the code the suite pins down.

For each core module, mutmut (requirements-mutate.txt) mutates the module and runs the module's own test
folders against every mutant; every mutant that survives (or that no test of those folders reached) is then
re-run against the module's folders *without* mutmut's per-test selection, and, if it still survives,
against the whole suite. The re-runs matter: the suite caches program runs once per session and builds some
values at import, so mutmut's per-function test selection misses tests that use the cached result and
reports false survivors. What survives all three runs is a survivor; survivors judged equivalent (the
mutated code behaves the same) are listed in mutation/equivalent.toml with why, and the report shows them.

How the mutated copy is what the tests import: the package is the folder ``components/`` imported as
``secure_mesh`` (``policy/secure_mesh_policy`` is imported from ``policy/`` on sys.path). mutmut names a
mutant after the path of the file it mutates and only activates it where the function's ``__module__``
matches, so each module is staged under its import path: ``build/mutate/<slug>/secure_mesh/layout.py`` is
the file mutmut mutates, and ``build/mutate/<slug>/mutants/`` is a copy of the checkout whose
``secure_mesh`` is a symlink to its ``components/``, so mutmut writes the mutants into that copy's
``components/layout.py``. mutmut puts ``mutants/`` first on sys.path (before the editable install's finder),
and tests/conftest.py refuses to run unless ``secure_mesh`` resolves to ``<checkout>/components`` -- here
the staged copy's -- so a run that tested the unmutated checkout would stop instead of reporting 0 %.

Usage: ``python -m scripts.mutate [MODULE ...] [--max-children N]`` (MODULE: a slug from TARGETS, e.g.
``layout``, ``policy.auth``; all of them by default). Results go to mutation/results.json (per module, with
the commit and date measured), the report to mutation/REPORT.md.
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGING = ROOT / "build" / "mutate"
RESULTS = ROOT / "mutation" / "results.json"
REPORT = ROOT / "mutation" / "REPORT.md"
EQUIVALENT = ROOT / "mutation" / "equivalent.toml"
# The whole suite as `make test` runs it (tests/integration skips itself without its environment), less the
# wheel test: it builds from `git ls-files`, and the staged copy is not a git checkout (it tests packaging,
# which no mutant of a core module changes).
WHOLE_SUITE = ("tests", "--ignore=tests/package/test_distribution.py")
RERUN_TIMEOUT_S = 900

# mutmut's exit codes (mutmut/stats.py): 1 and 3 are kills, 0 a survivor, 33/5 "no tests", the rest timeouts.
# -9 (SIGKILL, which mutmut calls "segfault") is how a runaway mutant ends when the kernel's OOM killer or mutmut's
# wall-clock limit stops it (seen here: an infinite loop in pki_levels.chain_up grew to 13 GB): a timeout too.
KILLED_CODES = {1, 3}
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
TIMEOUT_CODES = {-24, 24, 152, 255, 36, -9}
MUTANT_ADDRESS_SPACE = 6 << 30
"""The address space each mutmut process (and every mutant's, which inherit it) may map: a runaway mutant then
fails with MemoryError, a kill, instead of taking the machine's memory until the OOM killer picks a process."""


@dataclass(frozen=True)
class Target:
    """One core module and its own tests: the pure test files of its area (the program-run tests, which run the
    whole program under mocks for every mutant, are reached by the whole-suite re-run of the survivors).
    """

    source: str  # path in the checkout, e.g. components/layout.py
    tests: tuple[str, ...]

    @property
    def import_path(self) -> str:
        """The file's path under its import name (what mutmut's mutant names are derived from)."""
        if self.source.startswith("components/"):
            return "secure_mesh/" + self.source.removeprefix("components/")
        if self.source.startswith("policy/"):
            return self.source.removeprefix("policy/")
        raise ValueError(f"no import name for {self.source}")

    @property
    def module(self) -> str:
        """The dotted module name, e.g. secure_mesh.layout."""
        return self.import_path.removesuffix(".py").replace("/", ".")

    @property
    def slug(self) -> str:
        """The short name used on the command line and in the report, e.g. layout or policy.auth."""
        if self.source.startswith("policy/"):
            return "policy." + Path(self.source).stem
        return self.source.removeprefix("components/").removesuffix(".py").replace("/", ".")


POLICY_TESTS = ("tests/policy",)
SETTINGS_TESTS = (
    "tests/settings",
    "tests/pki/test_settings_rules.py",
    "tests/mesh/test_settings_errors.py",
    "tests/onboarding/test_settings_errors.py",
    "tests/onboarding/test_database_settings.py",
    "tests/topology/test_settings.py",
    "tests/rotation/test_documents.py",
    "tests/secrets/test_documents.py",
)
"""The test files that feed settings to the consistency checks (the rules are spread by topic)."""

TARGETS: tuple[Target, ...] = (
    Target("components/layout.py", ("tests/layout",)),
    Target("components/identities/policies.py", ("tests/identities/test_policies.py",)),
    Target(
        "components/identities/roles.py",
        ("tests/identities/test_roles.py", "tests/identities/test_audiences_and_reviewers.py"),
    ),
    Target(
        "components/identities/documents.py",
        (
            "tests/identities/test_policies.py",
            "tests/identities/test_roles.py",
            "tests/identities/test_audiences_and_reviewers.py",
            "tests/identities/test_standalone.py",
        ),
    ),
    Target("components/pki/plan.py", ("tests/pki/test_a_plan_document.py", "tests/pki/test_settings_rules.py")),
    Target(
        "components/consul/helm_values.py",
        ("tests/consul/test_helm_values.py", "tests/consul/test_chart_rules.py", "tests/consul/test_vault_paths.py"),
    ),
    Target("components/settings/consistency.py", SETTINGS_TESTS),
    Target("components/settings/database_rules.py", SETTINGS_TESTS),
    Target("components/settings/topology_rules.py", SETTINGS_TESTS),
    Target("components/settings/jwt_rules.py", SETTINGS_TESTS),
    # The WAN-federation pair's checks (the secondary against its primary's stack file).
    Target("components/settings/federation.py", (*SETTINGS_TESTS, "tests/topology/test_federation.py")),
    Target(
        "components/mesh/rules.py",
        (
            *SETTINGS_TESTS,
            "tests/mesh/test_graph.py",
            "tests/mesh/test_component_rules.py",
            "tests/jwt/test_components.py",
            "tests/jwt/test_graph.py",
        ),
    ),
    *(
        Target(f"policy/secure_mesh_policy/{name}.py", POLICY_TESTS)
        for name in (
            "auth",
            "audit",
            "chart",
            "consul_agent",
            "consul_values",
            "consumers",
            "database",
            "images",
            "intentions",
            "jwt",
            "kv",
            "mesh",
            "onboarding",
            "pki",
            "pki_levels",
            "pki_scope",
            "stack",
            "tokens",
            "topology",
            "transport",
            "vaultpaths",
        )
    ),
)


UNWRAPPED_DECORATORS = {"property", "cached_property", "cache", "lru_cache", "resource_rule", "stack_rule"}
"""Decorators mutmut would make it skip a function for; the staged copy applies them by assignment instead."""


def decorator_name(node: ast.expr) -> str:
    """The name a decorator is spelled with (``cached_property``, ``functools.cache``, ``resource_rule(...)``)."""
    if isinstance(node, ast.Call):
        return decorator_name(node.func)
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def unwrap_decorators(source: str) -> str:
    """The same module with each function under UNWRAPPED_DECORATORS as a plain function and an assignment.

    mutmut does not mutate decorated functions (issue 19's practical notes), so in the staged copy
    ``@cached_property`` over ``def name(self)`` becomes ``def _name_body(self)`` followed by
    ``name = cached_property(_name_body)``: the same class attribute, the same behaviour, and a plain function
    mutmut mutates. Only the staged copy changes; the checkout keeps its decorators.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[ast.FunctionDef, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or not node.decorator_list:
            continue
        names = [decorator_name(d) for d in node.decorator_list]
        if all(n in UNWRAPPED_DECORATORS for n in names):
            applied = f"_{node.name}_body"
            for d in reversed(node.decorator_list):
                applied = f"({ast.get_source_segment(source, d)})({applied})"
            edits.append((node, applied))
    for node, applied in sorted(edits, key=lambda e: -e[0].lineno):
        indent = " " * node.col_offset
        assert node.end_lineno is not None
        lines.insert(node.end_lineno, f"{indent}{node.name} = {applied}\n")
        def_line = node.lineno - 1
        lines[def_line] = lines[def_line].replace(f"def {node.name}(", f"def _{node.name}_body(", 1)
        first = min(d.lineno for d in node.decorator_list) - 1
        del lines[first:def_line]
    return "".join(lines)


PRELOAD = (
    "pytest",
    "hypothesis",
    "pydantic",
    "yaml",
    "cryptography.x509",
    "asn1crypto.x509",
    "pulumi",
    "pulumi.runtime",
    "pulumi_random",
    "pulumi_vault",
    "pulumi_consul",
    "pulumi_kubernetes",
    "pulumi_policy",
    "secure_mesh.program",
)
"""Modules the mutant processes' fork server imports once: third-party ones, and the package (its pydantic
models take seconds to build). Never the tests: they build values at import, which must see the mutant. A
package value built at import from a mutated function would be built unmutated here; the whole-suite re-run
(a fresh process) still catches such a mutant."""


ORDER_PLUGIN = '''"""Run the tests fastest first, by the durations mutmut recorded (staged by scripts/mutate.py).

Leaves out the tests that read the rule modules' source text (test_findings_pinned): mutmut rewrites a
mutated module with every mutant's copy of each function, so that text is no longer the checkout's; those
tests guard the checkout (`make test`), not a mutant.
"""

import json
from pathlib import Path

SOURCE_READERS = ("tests/policy/test_findings_pinned.py",)


def pytest_collection_modifyitems(session, config, items):
    kept = [item for item in items if not item.nodeid.startswith(SOURCE_READERS)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept
    stats = Path(str(config.rootpath)) / "mutmut-stats.json"
    if stats.exists():
        durations = json.loads(stats.read_text()).get("duration_by_test", {})
        items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
'''


WARM_PROGRAM_RUNS = '''"""Run the checked-in and onboarding stacks once in the fork server (staged by mutate.py).

Only for groups of policy-pack modules: the program (secure_mesh) is not mutated there, so its runs under mocks
are the same in every mutant's process, and most policy tests check one of them. Each mutant's process is
forked after this and starts with the runs in tests.conftest's and tests.onboarding.stacks' caches; the
pack itself is imported afresh, mutated, in each process (nothing here imports it).
"""

import asyncio

from tests.conftest import stack_run
from tests.harness import STACKS
from tests.onboarding.stacks import csi_run, onboarding_run
from tests.pki.test_generations import ROTATING_RUNS, run as generation_run
from tests.pki import test_connect_generations as connect_generations

for stack in STACKS:
    stack_run(stack)
    stack_run(stack, preview=True)
for base in ("dev", "prod"):
    onboarding_run(base)
    csi_run(base)
for rotating in ROTATING_RUNS:  # the stacks rotating their server CA, which the pack must pass too
    generation_run(*rotating)
for rotating_root in connect_generations.ROTATING_RUNS:  # and those rotating Consul's root
    connect_generations.run(*rotating_root)

# The SDK runs its RPCs through the event loop's default thread pool; a forked process has none of its threads, so
# a program run there would wait forever on work queued to them. Each mutant's process gets a fresh loop instead.
_loop = asyncio.get_event_loop()
_loop.run_until_complete(_loop.shutdown_default_executor())
_loop.close()
asyncio.set_event_loop(asyncio.new_event_loop())
'''


FREEZE_HEAP = '''"""Freeze the fork server's heap, the last of its preloads (staged by scripts/mutate.py).

pytest collects the garbage several times as it ends (unraisableexception's gc_collect_harder, and the
suite's own pytest_sessionfinish). In a process forked from a server holding the package, the third-party
modules and the program runs, each collection walked all of them: about 0.9 of the 1.2 s a policy-pack
mutant's process took. Frozen objects are left out of every collection in the forked processes.
"""

import gc

gc.collect()
gc.freeze()
'''


def checkout_files() -> list[str]:
    """The checkout's files as git sees them (tracked and new, never ignored ones such as build/ or .venv)."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return sorted({name for name in out.split("\0") if name and (ROOT / name).is_file()})


def git(*args: str) -> str:
    """One git answer about the checkout."""
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()


def shares_program_runs(targets: Sequence[Target]) -> bool:
    """Whether the modules are all policy-pack modules: the program is not mutated, so the fork server runs the
    stacks once for every mutant (WARM_PROGRAM_RUNS).
    """
    return all(each.source.startswith("policy/") for each in targets)


def staging_folder(targets: Sequence[Target]) -> Path:
    """Where a group of modules is staged (named after its first module and how many others it has)."""
    first = targets[0]
    return STAGING / (first.slug if len(targets) == 1 else f"{first.slug}+{len(targets) - 1}")


def can_resume(targets: Sequence[Target]) -> bool:
    """Whether a group's staging folder holds a finished mutmut run to resume from."""
    where = staging_folder(targets)
    return (where / "setup.cfg").exists() and all(
        (where / "mutants" / (t.import_path + ".meta")).exists() for t in targets
    )


def stage(targets: Sequence[Target], resume: bool = False) -> Path:
    """A staging folder for modules sharing their tests: each file to mutate under its import path, and
    mutants/. mutmut's stats run (every test of the folders once, traced) is then paid once for all of them;
    :func:`measure` decides them in batches of :data:`BATCH` modules per ``mutmut run``.

    ``resume`` keeps the folder of an earlier run and refreshes it from the checkout: every file but the mutated
    modules is copied again (so new tests are there), and each module is written again, so mutmut (its own
    incremental mode) makes new mutants only of functions whose code changed and keeps the other results.
    """
    where = staging_folder(targets)
    mutants = where / "mutants"
    if resume:
        mutated = {t.source for t in targets}
        for name in checkout_files():
            if name in mutated:
                continue
            dest = mutants / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest)
    else:
        if where.exists():
            shutil.rmtree(where)
        for name in checkout_files():
            dest = mutants / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest)  # copy2: the same mtime as the source, so mutmut mutates it
        # The import names as symlinks to the folders the checkout keeps; mutmut writes the mutants through them.
        (mutants / "secure_mesh").symlink_to("components")
        (mutants / "secure_mesh_policy").symlink_to("policy/secure_mesh_policy")
        venv = ROOT / ".venv"
        if venv.exists():  # tests/workflows read the checkout's .venv
            (mutants / ".venv").symlink_to(venv.resolve())
    for each in targets:
        source = where / each.import_path
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(unwrap_decorators((ROOT / each.source).read_text()))
    selection = "".join(f"\n    {path}" for path in targets[0].tests)
    # Fastest tests first (durations from mutmut's stats run): with -x a mutant dies at its first failing test.
    (mutants / "mutate_order.py").write_text(ORDER_PLUGIN)
    # Each mutant runs in a process forked from a server that has imported only third-party modules: the
    # package, the tests and their shared program runs are imported and built afresh with the mutant active.
    preload = list(PRELOAD)
    if shares_program_runs(targets):
        (mutants / "mutate_warm.py").write_text(WARM_PROGRAM_RUNS)
        preload.append("mutate_warm")
    (mutants / "mutate_freeze.py").write_text(FREEZE_HEAP)
    preload.append("mutate_freeze")
    (where / "preload.txt").write_text("\n".join(preload) + "\n")
    (where / "setup.cfg").write_text(
        "[mutmut]\n"
        "source_paths =" + "".join(f"\n    {each.import_path}" for each in targets) + "\n"
        f"pytest_add_cli_args_test_selection ={selection}\n"
        "use_git_change_detection = false\n"
        "process_isolation = forkserver\n"
        "forkserver_warmup = import\n"
        f"preload_modules_file = {where / 'preload.txt'}\n"
        "pytest_add_cli_args = -pmutate_order\n"
    )
    return where


def child_env(mutants: Path, mutant: str | None = None) -> dict[str, str]:
    """The environment of a run in the staged copy: only it on PYTHONPATH (never a checkout's alias)."""
    # PYTHONDONTWRITEBYTECODE off: every mutant's process imports the mutated modules (megabytes: every
    # mutant's copy of each function) and the tests; without their cached bytecode each process compiled them
    # again, about 7 of the 8 seconds a policy-pack mutant took.
    unwanted = {"PYTHONPATH", "MUTANT_UNDER_TEST", "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    env["PYTHONPATH"] = str(mutants)
    if mutant is not None:
        env["MUTANT_UNDER_TEST"] = mutant
    return env


def limit_address_space() -> None:
    """In a child before it runs mutmut: cap its address space (:data:`MUTANT_ADDRESS_SPACE`)."""
    resource.setrlimit(resource.RLIMIT_AS, (MUTANT_ADDRESS_SPACE, MUTANT_ADDRESS_SPACE))


def run_mutmut(where: Path, max_children: int, names: Sequence[str] = ()) -> None:
    """One ``mutmut run`` in a staging folder: it decides every mutant (of ``names``, fnmatch patterns, if given)
    whose result is not recorded yet.
    """
    env = child_env(where / "mutants")
    env.pop("PYTHONPATH")  # mutmut puts mutants/ first on sys.path itself
    log = where / "mutmut.log"
    with log.open("a") as out:
        code = subprocess.run(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *names],
            cwd=where,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            preexec_fn=limit_address_space,
        ).returncode
    if code != 0:
        raise SystemExit(f"mutmut failed in {where} (exit {code}); see {log}")


def exit_codes(where: Path) -> dict[str, int | None]:
    """Mutant name -> mutmut's recorded exit code, for every module staged in ``where``."""
    codes: dict[str, int | None] = {}
    for path in staged_import_paths(where):
        meta = json.loads((where / "mutants" / (path + ".meta")).read_text())
        codes.update(meta["exit_code_by_key"])
    return codes


def widen_selection(where: Path, mutants: Sequence[str]) -> None:
    """Make mutmut run ``mutants`` again, each against every test of the module's folders.

    mutmut runs a mutant only against the tests that reached its function while it collected its stats. The
    suite runs each program once per session and shares the result, so a function reached through a shared
    run is recorded for the first test only: the mutant is run against that test and survives. Recording
    every test for the function, and forgetting the mutant's result, makes the next ``mutmut run`` try it
    against all of them (in a fresh process, so shared runs and import-time values are rebuilt mutated).
    """
    stats_path = where / "mutants" / "mutmut-stats.json"
    stats = json.loads(stats_path.read_text())
    every_test = sorted(stats["duration_by_test"])
    for name in mutants:
        stats["tests_by_mangled_function_name"][name.partition("__mutmut_")[0]] = every_test
    stats_path.write_text(json.dumps(stats, indent=4))
    reset(where, mutants)


def reset(where: Path, mutants: Sequence[str]) -> None:
    """Forget mutmut's result for ``mutants``, so the next ``mutmut run`` decides them again."""
    wanted = set(mutants)
    for path in staged_import_paths(where):
        meta_path = where / "mutants" / (path + ".meta")
        meta = json.loads(meta_path.read_text())
        for name in meta["exit_code_by_key"]:
            if name in wanted:
                meta["exit_code_by_key"][name] = None
        meta_path.write_text(json.dumps(meta, indent=4))


def staged_import_paths(where: Path) -> list[str]:
    """The source paths recorded in a staging folder's setup.cfg."""
    lines = (where / "setup.cfg").read_text().splitlines()
    start = lines.index("source_paths =")
    paths = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        paths.append(line.strip())
    if not paths:
        raise ValueError(f"no source_paths in {where / 'setup.cfg'}")
    return paths


def pytest_passes(mutants: Path, paths: Sequence[str], mutant: str | None, workers: int) -> bool | None:
    """Whether the tests pass in the staged copy with ``mutant`` active (None: timed out)."""
    args = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *paths]
    if workers > 1:
        args += ["-n", str(workers), "--dist", "loadfile"]
    try:
        result = subprocess.run(
            args,
            cwd=mutants,
            env=child_env(mutants, mutant if mutant is not None else ""),
            capture_output=True,
            text=True,
            timeout=RERUN_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    if result.returncode not in (0, 1):
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise SystemExit(f"pytest could not run in {mutants} (exit {result.returncode}):\n{tail}")
    return result.returncode == 0


def diffs(where: Path, path: str, names: Sequence[str]) -> dict[str, str]:
    """The diff mutmut shows for each named mutant of the module staged at import path ``path``."""
    if not names:
        return {}
    code = (
        "import json, sys\n"
        "from mutmut.mutation.diff_apply import get_diff_for_mutant\n"
        "names = json.loads(sys.argv[1])\n"
        "print(json.dumps({n: get_diff_for_mutant(n, path=sys.argv[2]) for n in names}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(list(names)), path],
        cwd=where,
        env=child_env(where / "mutants"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    answer: dict[str, str] = json.loads(out)
    return answer


def changed_lines(diff: str) -> list[str]:
    """The removed and added lines of a unified diff, without the file headers."""
    return [line for line in diff.splitlines() if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def load_equivalent() -> dict[str, dict[str, str]]:
    """mutation/equivalent.toml: mutant name -> {line: the mutated line, why: the reasoning}."""
    if not EQUIVALENT.exists():
        return {}
    data = tomllib.loads(EQUIVALENT.read_text())
    return {name: dict(entry) for name, entry in data.get("equivalent", {}).items()}


Recorder = Callable[[str, dict[str, Any]], None]
BATCH = 5
"""Modules decided by one ``mutmut run`` before their results are recorded."""


def measure(
    targets: Sequence[Target], max_children: int, whole_suite: bool, record: Recorder, resume: bool = False
) -> None:
    """Mutation-test modules that share their tests: staged (and mutmut's stats collected) once, then decided one
    module at a time, each module's result handed to ``record`` as soon as it is complete.
    """
    tests = targets[0].tests
    if any(t.tests != tests for t in targets):
        raise ValueError("modules measured together must share their tests")
    group = "+".join(t.slug for t in targets)
    # The commit (and whether a module or the tests differ from it) as staged: what the mutants are made of.
    commit = git("rev-parse", "--short=12", "HEAD")
    resumed = resume and can_resume(targets)
    staged = {
        t.source: (
            bool(git("status", "--porcelain", "--", t.source, "tests", "policy")),
            git("hash-object", t.source)[:12],
        )
        for t in targets
    }
    where = stage(targets, resumed)
    if resumed:
        # Kills stand (the tests only grew); everything else is decided again against the current tests.
        undecided = [n for n, c in exit_codes(where).items() if c not in KILLED_CODES]
        reset(where, undecided)
        print(f"[{group}] resuming {where}: {len(undecided)} mutants to decide again", flush=True)
    print(f"[{group}] mutmut with {', '.join(tests)}", flush=True)
    for index in range(0, len(targets), BATCH):
        # One mutmut run per batch of modules: each run first runs the batch's tests unmutated (its "clean tests",
        # over a minute for the pack's), so a run per module would spend half an hour on them.
        batch = targets[index : index + BATCH]
        started = time.monotonic()
        measured = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
        for result in decide(batch, where, max_children, whole_suite):
            dirty, blob = staged[result["module"]]
            record(
                result["module"],
                {
                    **result,
                    "tests": list(tests),
                    "commit": commit,
                    "dirty": dirty,
                    "source_blob": blob,
                    "date": measured,
                    "seconds": round(time.monotonic() - started),
                    "measured_with": [t.source for t in targets],
                    "resumed": resumed,
                },
            )


def decide(batch: Sequence[Target], where: Path, max_children: int, whole_suite: bool) -> list[dict[str, Any]]:
    """Run mutmut over a batch of staged modules, re-run their suspects (in one more run), and count each."""
    run_mutmut(where, max_children, [t.module + ".*" for t in batch])
    codes = exit_codes(where)

    def of(target: Target) -> dict[str, int | None]:
        return {n: c for n, c in codes.items() if n.startswith(target.module + ".")}

    first: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {}
    for target in batch:
        mine = of(target)
        killed = sorted(n for n, c in mine.items() if c in KILLED_CODES)
        # A timeout may be the machine's load, not the mutant: it is decided again, alone against every test of
        # the folders, before it counts (what times out again counts as killed, as mutmut counts it).
        first_timeouts = sorted(n for n, c in mine.items() if c in TIMEOUT_CODES)
        suspects = sorted(n for n, c in mine.items() if c in SURVIVED_CODES | NO_TESTS_CODES)
        other = sorted(n for n, c in mine.items() if n not in set(killed) | set(first_timeouts) | set(suspects))
        if other:
            raise SystemExit(f"[{target.slug}] mutants mutmut did not decide: {other[:5]} (see {where}/mutmut.log)")
        print(
            f"[{target.slug}] {len(mine)} mutants, {len(killed)} killed, {len(first_timeouts)} timed out,"
            f" {len(suspects)} suspects",
            flush=True,
        )
        survivors: list[str] = []
        if shares_program_runs([target]):
            # The pack's tests call its rules at test time, on program runs the fork server made once (the program
            # is not mutated here), so mutmut's per-test selection is exact for a survivor: every test that reaches
            # the function ran against it. Only mutants no test reached (a value computed at import) are re-run.
            survivors = [n for n in suspects if mine[n] in SURVIVED_CODES]
            suspects = [n for n in suspects if mine[n] in NO_TESTS_CODES]
        first[target.source] = (killed, first_timeouts, suspects, survivors)

    again_all = sorted(n for _, timeouts, suspects, _ in first.values() for n in suspects + timeouts)
    again: dict[str, int | None] = {}
    if again_all:
        if shares_program_runs(batch):
            # The pack's per-test selection is exact (see above): a timeout is decided again against its own tests
            # (against every test of the folder, mutmut's wall limit of 15 x their estimated time was about eight
            # minutes per mutant), and only mutants no test reached get every test.
            timed_out = {n for _, timeouts, _, _ in first.values() for n in timeouts}
            widen_selection(where, [n for n in again_all if n not in timed_out])
            reset(where, sorted(timed_out))
        else:
            widen_selection(where, again_all)
        any_timeouts = any(timeouts for _, timeouts, _, _ in first.values())
        run_mutmut(where, max(1, max_children // 2) if any_timeouts else max_children, again_all)
        again = exit_codes(where)

    results = []
    judged = load_equivalent()
    mutants = where / "mutants"
    for target in batch:
        killed, first_timeouts, suspects, survivors = first[target.source]
        label = target.slug
        killed_on_rerun: list[str] = []
        timeouts: list[str] = []
        killed_by_suite: list[str] = []
        for name in suspects + first_timeouts:
            if again[name] in KILLED_CODES:
                killed_on_rerun.append(name)
            elif again[name] in TIMEOUT_CODES:
                timeouts.append(name)
            elif again[name] in SURVIVED_CODES | NO_TESTS_CODES:
                survivors.append(name)
            else:
                raise SystemExit(f"[{label}] {name}: mutmut did not decide on the re-run ({again[name]})")
        print(
            f"[{label}] {len(killed_on_rerun)} killed on re-run, {len(timeouts)} timed out again,"
            f" {len(survivors)} left",
            flush=True,
        )
        if whole_suite and survivors:
            # The whole suite counts a failing test as a kill, so the unmutated staged copy must pass it first.
            if not pytest_passes(mutants, WHOLE_SUITE, None, max_children):
                raise SystemExit(f"[{label}] the whole suite fails unmutated in {mutants}")
            for name in list(survivors):
                if not pytest_passes(mutants, WHOLE_SUITE, name, max_children):
                    killed_by_suite.append(name)
                    survivors.remove(name)
                print(f"[{label}] whole suite against {name}", flush=True)

        diff_by_name = diffs(where, target.import_path, survivors)
        equivalent: dict[str, str] = {}
        stale: list[str] = []
        for name in survivors:
            entry = judged.get(name)
            if entry is None:
                continue
            added = [line for line in changed_lines(diff_by_name[name]) if line.startswith("+")]
            if any(entry["line"].strip() in line for line in added):
                equivalent[name] = entry["why"]
            else:
                stale.append(name)  # renumbered or changed since it was judged: counts as a survivor
        total = len(of(target))
        killed_total = len(killed) + len(timeouts) + len(killed_on_rerun) + len(killed_by_suite)
        countable = total - len(equivalent)
        results.append(
            {
                "module": target.source,
                "mutants": total,
                "killed": len(killed),
                "timeouts": len(timeouts),
                "killed_on_rerun": len(killed_on_rerun),
                "killed_by_whole_suite": len(killed_by_suite) if whole_suite else None,
                "equivalent": {
                    name: {"why": why, "diff": changed_lines(diff_by_name[name])} for name, why in equivalent.items()
                },
                "survivors": {
                    name: {"diff": changed_lines(diff_by_name[name]), "stale_judgement": name in stale}
                    for name in survivors
                    if name not in equivalent
                },
                "score": round(100 * killed_total / countable, 1) if countable else 100.0,
            }
        )
    return results


def rejudge(record: dict[str, Any]) -> None:
    """Apply mutation/equivalent.toml to a recorded result (judgements made after it was measured)."""
    judged = load_equivalent()
    for name in list(record["survivors"]):
        entry = judged.get(name)
        diff = record["survivors"][name]["diff"]
        if entry and any(entry["line"].strip() in line for line in diff if line.startswith("+")):
            record["equivalent"][name] = {"why": entry["why"], "diff": diff}
            del record["survivors"][name]
    countable = record["mutants"] - len(record["equivalent"])
    killed = record["mutants"] - len(record["equivalent"]) - len(record["survivors"])
    record["score"] = round(100 * killed / countable, 1) if countable else 100.0


def write_report(results: dict[str, dict[str, Any]]) -> None:
    """mutation/REPORT.md from the recorded results, in TARGETS order."""
    order = [t.source for t in TARGETS]
    rows = [results[s] for s in order if s in results]
    lines = [
        "# Mutation testing report",
        "",
        "Generated by `make mutate` (scripts/mutate.py, mutmut pinned in requirements-mutate.txt); do not edit by",
        "hand. Each module is mutated and run against its own test folders; every mutant that survives is re-run",
        "against those folders without mutmut's per-test selection and then against the whole suite (the suite",
        "caches program runs, so the per-test selection reports false survivors). A mutant that times out is",
        "decided again the same way (a loaded machine times tests out), and counts as killed only if it times out",
        "again. Modules sharing their tests are staged together (one stats run) and decided in batches of five;",
        "policy-pack survivors are not re-run and its timeouts are re-run against their own tests only",
        "(its tests call the rules at test time on program runs made once, so mutmut's selection is exact there;",
        "mutants no test reached are re-run). Score = killed (including timeouts",
        "and re-run kills) / (mutants - judged equivalent). Equivalent mutants are judged in",
        "mutation/equivalent.toml, each with why. The commit is the branch commit the module was staged from (a",
        "later rebase gives the same code another hash); the module blob (`git hash-object`) names the code",
        "measured, and `current` says it is still the checkout's code when this report was written. A date marked",
        "(resumed) is a `--resume` run: kills of unchanged functions kept from the run before, everything else",
        "decided again on that date's code and tests.",
        "",
        "| module | measured | commit (module blob) | mutants | killed by own tests | + re-runs | + whole suite |"
        " equivalent | survivors | score |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        suite = "not run" if r["killed_by_whole_suite"] is None else r["killed_by_whole_suite"]
        commit = r["commit"] + (" + uncommitted changes" if r["dirty"] else "")
        if r.get("source_blob"):
            now = git("hash-object", r["module"])[:12]
            commit += f" ({r['source_blob']}, {'current' if now == r['source_blob'] else 'changed since'})"
        date = r["date"] + (" (resumed)" if r.get("resumed") else "")
        lines.append(
            f"| `{r['module']}` | {date} | {commit} | {r['mutants']} | {r['killed'] + r['timeouts']} |"
            f" {r['killed_on_rerun']} | {suite} | {len(r['equivalent'])} |"
            f" {len(r['survivors'])} | {r['score']} % |"
        )
    missing = [s for s in order if s not in results]
    if missing:
        lines += ["", "Not measured yet: " + ", ".join(f"`{s}`" for s in missing) + "."]
    for r in rows:
        if not r["survivors"] and not r["equivalent"] and not r.get("note"):
            continue
        lines += ["", f"## `{r['module']}`", ""]
        if r.get("note"):
            lines += [r["note"], ""]
        for name, entry in sorted(r["survivors"].items()):
            note = " (judged equivalent before, but the mutant changed since)" if entry["stale_judgement"] else ""
            lines += [f"- survivor `{name}`{note}:", "", "  ```diff", *[f"  {d}" for d in entry["diff"]], "  ```"]
        for name, entry in sorted(r["equivalent"].items()):
            lines += [
                f"- equivalent `{name}`: {entry['why']}",
                "",
                "  ```diff",
                *[f"  {d}" for d in entry["diff"]],
                "  ```",
            ]
    REPORT.write_text("\n".join(lines) + "\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Measure the named modules (all by default), record their results and rewrite the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    by_slug = {t.slug: t for t in TARGETS}
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(by_slug))
    parser.add_argument("--max-children", type=int, default=2, help="mutmut's parallel test processes")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: apply mutation/equivalent.toml to the recorded results and rewrite the report",
    )
    parser.add_argument(
        "--no-whole-suite",
        action="store_true",
        help="skip the whole-suite re-run of survivors (quick iteration; the report says so)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse each group's earlier staging folder: kills of unchanged functions stand, the rest is decided"
        " again against the current tests (a run without it starts from scratch)",
    )
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in by_slug]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; choose from {', '.join(by_slug)}")
    chosen = [by_slug[m] for m in args.modules] or list(TARGETS)
    results: dict[str, dict[str, Any]] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.report_only:
        for entry in results.values():
            rejudge(entry)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        write_report(results)
        return
    groups: dict[tuple[str, ...], list[Target]] = {}
    for target in chosen:
        groups.setdefault(target.tests, []).append(target)

    def record(source: str, result: dict[str, Any]) -> None:
        results[source] = result
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        write_report(results)
        print(f"[{source}] score {result['score']} % ({len(result['survivors'])} survivors)", flush=True)

    for group in groups.values():
        measure(group, args.max_children, not args.no_whole_suite, record, args.resume)


if __name__ == "__main__":
    main()
