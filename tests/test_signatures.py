"""cnnlib's public API has torch's signatures, so that a call written for torch means the
same in cnnlib: parameter names, order, defaults and kinds (positional-only, keyword-only).

Compared, each with its torch namesake found by the same name:

- every function in ``cnnlib.functional.__all__``  <->  ``torch.nn.functional``
- every class in ``cnnlib.nn.__all__`` (its constructor, ``forward`` where torch's forward
  takes more than the input, and each public method the class defines that torch's class
  also has: ``load_state_dict``, ``train``, ...)  <->  ``torch.nn``
- every optimiser in ``cnnlib.optim``  <->  ``torch.optim``; every scheduler in
  ``cnnlib.optim.lr_scheduler``  <->  ``torch.optim.lr_scheduler`` (constructors and the
  public methods they define, such as ``step`` and ``zero_grad``)
- every function in ``cnnlib.init.__all__``  <->  ``torch.nn.init``

Rules (not exceptions):

- A name torch does not have (``conv2d_forward``, ``conv2d_backward``, ``conv2d_naive``,
  ``true_conv2d``, ``nn.Residual``, ...) is cnnlib's own addition and is not compared.
- cnnlib may add parameters after torch's, keyword-only with a default (``dropout``'s
  ``seed``): then no call written for torch can bind to them.
- torch's private parameters (a leading underscore, ``softmax``'s ``_stacklevel``) are not
  part of its API and are left out of the comparison; so are the names of ``*args`` and
  ``**kwargs``, which no call can use.
- A torch class that inherits ``torch.nn.Module.__init__`` takes no arguments (Module's
  ``*args, **kwargs`` only exist to reject extra ones).
- Annotations are not compared; defaults compare equal when ``==`` says so (0 and 0.0),
  except that a bool default must match a bool (``False == 0`` in Python).

Every other difference is deliberate and listed in DIFFERENCES below, with its reason.
"""

from __future__ import annotations

import ast
import inspect
import re
from fnmatch import fnmatchcase

import pytest

torch = pytest.importorskip("torch")

import cnnlib.functional as F  # noqa: E402
import cnnlib.init as init  # noqa: E402
import cnnlib.nn as nn  # noqa: E402
import cnnlib.optim as optim  # noqa: E402

# --- deliberate differences from torch (printed in the API reference) ---
# "<torch name pattern>(<torch parameters cnnlib leaves out>)": why; "(*)": the whole signature
DIFFERENCES = {
    "torch.nn.Module.to(*)": (
        "torch overloads it (device, dtype, non_blocking / tensor / memory_format); cnnlib "
        "has to(device=None, dtype=None), whose device also names a library ('numpy')"
    ),
}
# --- end of deliberate differences ---

PAIRS = [  # (cnnlib module, its names, torch's namesake module, its qualified name)
    (F, F.__all__, torch.nn.functional, "torch.nn.functional"),
    (nn, nn.__all__, torch.nn, "torch.nn"),
    (optim, optim.__all__, torch.optim, "torch.optim"),
    (init, init.__all__, torch.nn.init, "torch.nn.init"),
]
try:
    from cnnlib.optim import lr_scheduler
except ImportError:  # reported by test_every_namespace_of_the_issue_exists
    lr_scheduler = None
else:
    PAIRS.append(
        (lr_scheduler, lr_scheduler.__all__, torch.optim.lr_scheduler, "torch.optim.lr_scheduler")
    )


# ------------------------------------------------------------------ reading signatures


def _from_docstring(fn) -> inspect.Signature:
    """torch's C functions (conv2d, linear, avg_pool2d) carry no signature object; their
    docstring opens with one: ``conv2d(input, weight, bias=None, ...) -> Tensor``."""
    first = next(line.strip() for line in (fn.__doc__ or "").splitlines() if line.strip())
    match = re.fullmatch(r"[\w.]+\((.*)\)(\s*->.*)?", first)
    if match is None:
        raise ValueError(f"no signature in the docstring of {fn!r}: {first!r}")
    args = ast.parse(f"def f({match.group(1)}): pass").body[0].args
    kind = inspect.Parameter
    params = []
    positional = args.posonlyargs + args.args
    defaults = [inspect.Parameter.empty] * (len(positional) - len(args.defaults)) + [
        _literal(d) for d in args.defaults
    ]
    for i, (a, d) in enumerate(zip(positional, defaults)):
        k = kind.POSITIONAL_ONLY if i < len(args.posonlyargs) else kind.POSITIONAL_OR_KEYWORD
        params.append(kind(a.arg, k, default=d))
    if args.vararg:
        params.append(kind(args.vararg.arg, kind.VAR_POSITIONAL))
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        default = kind.empty if d is None else _literal(d)
        params.append(kind(a.arg, kind.KEYWORD_ONLY, default=default))
    if args.kwarg:
        params.append(kind(args.kwarg.arg, kind.VAR_KEYWORD))
    return inspect.Signature(params)


def _literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:  # a name such as torch.contiguous_format: compare its source text
        return ast.unparse(node)


def torch_signature(obj) -> inspect.Signature:
    """The signature a torch user calls, however torch defines the function or class."""
    if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
        if obj.__init__ is torch.nn.Module.__init__:
            return inspect.Signature([])
    # boolean_dispatch (max_pool2d, adaptive_max_pool2d) wraps two functions in
    # fn(*args, **kwargs); the one with indices has the full parameter list
    closure = inspect.getclosurevars(obj).nonlocals if inspect.isfunction(obj) else {}
    if "if_true" in closure and "if_false" in closure:
        obj = closure["if_true"]
    try:
        return inspect.signature(obj)
    except ValueError:
        return _from_docstring(obj)


def _without_self(sig: inspect.Signature) -> list[inspect.Parameter]:
    return [p for p in sig.parameters.values() if p.name != "self"]


# ------------------------------------------------------------------ comparing


def _same_default(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_default(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # arrays and the like
        return a is b


def _left_out(torch_name: str) -> tuple[set, list]:
    """The torch parameters DIFFERENCES lets cnnlib leave out of `torch_name` ("*": all of
    them), and the keys that apply."""
    names, keys = set(), []
    for key in DIFFERENCES:
        pattern, params = re.fullmatch(r"(.+)\((.*)\)", key).groups()
        if fnmatchcase(torch_name, pattern):
            names |= {p.strip() for p in params.split(",")}
            keys.append(key)
    return names, keys


def _split(params):
    """(positional parameters in order, {keyword-only name: parameter}, *args, **kwargs)."""
    k = inspect.Parameter
    positional = [p for p in params if p.kind in (k.POSITIONAL_ONLY, k.POSITIONAL_OR_KEYWORD)]
    keyword = {p.name: p for p in params if p.kind == k.KEYWORD_ONLY}
    var = [p for p in params if p.kind == k.VAR_POSITIONAL]
    varkw = [p for p in params if p.kind == k.VAR_KEYWORD]
    return positional, keyword, var, varkw


def _default(p) -> str:
    return "no default" if p.default is p.empty else repr(p.default)


def differences(theirs: inspect.Signature, ours: inspect.Signature, left_out=()) -> list[str]:
    """How ours differs from theirs (torch's); empty when they agree.

    Positional parameters compare in order (name, kind, default); keyword-only ones by name
    (their order cannot matter). torch's private parameters and those in `left_out` need
    not exist in ours, but are compared when they do. cnnlib's extra parameters must be
    keyword-only with a default, so that no call written for torch reaches them.
    """
    have = _without_self(ours)
    names = {p.name for p in have}
    wanted = [
        p
        for p in _without_self(theirs)
        if p.name in names or not (p.name.startswith("_") or p.name in left_out)
    ]
    t_pos, t_kw, t_var, t_varkw = _split(wanted)
    o_pos, o_kw, o_var, o_varkw = _split(have)
    problems = []
    for i, t in enumerate(t_pos):
        if i >= len(o_pos):
            where = "keyword-only" if t.name in o_kw else "missing"
            problems.append(f"{t.name!r} is {where}, torch's is positional (position {i})")
            continue
        o = o_pos[i]
        if o.name != t.name:
            problems.append(f"parameter {i} is {o.name!r}, torch's is {t.name!r}")
            continue
        if o.kind != t.kind:
            problems.append(f"{t.name!r} is {o.kind.description}, torch's is {t.kind.description}")
        if not _same_default(o.default, t.default):
            problems.append(f"{t.name!r} defaults to {_default(o)}, torch's to {_default(t)}")
    for o in o_pos[len(t_pos) :]:
        if o.name not in t_kw:
            problems.append(f"extra parameter {o.name!r} must be keyword-only with a default")
    for name, t in t_kw.items():
        o = o_kw.get(name)
        if o is None:
            where = "positional" if name in names else "missing"
            problems.append(f"{name!r} is {where}, torch's is keyword-only")
        elif not _same_default(o.default, t.default):
            problems.append(f"{name!r} defaults to {_default(o)}, torch's to {_default(t)}")
    for name, o in o_kw.items():
        if name not in t_kw and o.default is o.empty:
            problems.append(f"extra keyword-only {name!r} needs a default")
    if t_var and not o_var:
        problems.append("missing *args")
    if t_varkw and not o_varkw:
        problems.append("missing **kwargs")
    return problems


# ------------------------------------------------------------------ what is compared


def _cases():
    """(id, cnnlib object, torch object, torch's qualified name) for every namesake pair."""
    cases = []
    for ours_module, names, theirs_module, qual in PAIRS:
        for name in names:
            ours = getattr(ours_module, name)
            theirs = getattr(theirs_module, name, None)
            if theirs is None or inspect.ismodule(ours) or not callable(ours):
                continue  # cnnlib's own addition (conv2d_forward, Residual, ...)
            short = f"{ours_module.__name__.removeprefix('cnnlib.')}.{name}"
            if not inspect.isclass(ours):
                cases.append((short, ours, theirs, f"{qual}.{name}"))
                continue
            cases.append((f"{short}.__init__", ours, theirs, f"{qual}.{name}.__init__"))
            forward = getattr(theirs, "forward", None)
            if forward is not None and _takes_more_than_the_input(forward):
                cases.append((f"{short}.forward", ours.forward, forward, f"{qual}.{name}.forward"))
            for method, fn in vars(ours).items():  # defined here, not inherited
                torch_method = getattr(theirs, method, None)
                if method.startswith("_") or method == "forward" or not inspect.isfunction(fn):
                    continue
                if callable(torch_method):
                    torch_qual = f"{qual}.{_defined_in(theirs, method)}.{method}"
                    cases.append((f"{short}.{method}", fn, torch_method, torch_qual))
    return cases


def _defined_in(cls, method: str) -> str:
    """The name of the class in cls's MRO that defines `method` (Module for Conv2d.train)."""
    return next(c.__name__ for c in cls.__mro__ if method in vars(c))


def _takes_more_than_the_input(forward) -> bool:
    params = _without_self(torch_signature(forward))
    plain = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return len(plain) > 1 and forward is not torch.nn.Module.forward


CASES = _cases()


@pytest.mark.parametrize("name, ours, theirs, torch_name", CASES, ids=[c[0] for c in CASES])
def test_signature_matches_torch(name, ours, theirs, torch_name):
    left_out, _ = _left_out(torch_name)
    if "*" in left_out:
        return  # a deliberate difference of the whole signature
    theirs_sig = torch_signature(theirs)
    ours_sig = inspect.signature(ours)
    problems = differences(theirs_sig, ours_sig, left_out)
    assert not problems, f"{name}{ours_sig} differs from {torch_name}{theirs_sig}: " + "; ".join(
        problems
    )


def test_every_namespace_of_the_issue_exists():
    assert lr_scheduler is not None, "cnnlib.optim.lr_scheduler is missing"


def test_the_core_of_each_namespace_is_compared():
    """The namesake rule must not skip everything by accident (a renamed torch module)."""
    compared = {c[0] for c in CASES}
    for name in [
        "functional.conv2d",
        "functional.max_pool2d",
        "functional.linear",
        "nn.Conv2d.__init__",
        "nn.BatchNorm2d.__init__",
        "nn.Sigmoid.__init__",
        "optim.SGD.__init__",
        "init.kaiming_uniform_",
    ]:
        assert name in compared, name


@pytest.mark.parametrize("key", sorted(DIFFERENCES))
def test_every_deliberate_difference_is_used(key):
    """Each entry applies to something we compare, and is needed there: the parameters it
    names are ones torch has and cnnlib leaves out (for "*": the signatures differ). An
    entry that no longer is needed is stale and must go."""
    params = {p.strip() for p in re.fullmatch(r".+\((.*)\)", key).group(1).split(",")}
    applies = [(o, t) for _, o, t, name in CASES if key in _left_out(name)[1]]
    assert applies, f"{key} matches nothing that is compared"
    left = set()
    for ours, theirs in applies:
        ours_sig, theirs_sig = inspect.signature(ours), torch_signature(theirs)
        if params == {"*"}:
            assert differences(theirs_sig, ours_sig), f"{key}: the signatures now agree"
        left |= set(theirs_sig.parameters) - set(ours_sig.parameters)
    if params != {"*"}:
        assert params <= left, f"{key}: cnnlib no longer leaves out {params - left}"


# ------------------------------------------------------------------ the checker itself


def _sig(params: str) -> inspect.Signature:
    """The signature of ``def f(<params>)``."""
    scope = {}
    exec(f"def f({params}): pass", scope)
    return inspect.signature(scope["f"])


def test_checker_catches_mse_loss_with_reduction_third():
    """torch's third positional is size_average: F.mse_loss(a, b, 'sum') would bind
    size_average='sum' in torch and reduction='sum' in such a cnnlib."""
    ours = _sig("input, target, reduction='mean'")
    problems = differences(torch_signature(torch.nn.functional.mse_loss), ours)
    assert problems and "parameter 2 is 'reduction', torch's is 'size_average'" in problems[0]


CONV2D = "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1"


@pytest.mark.parametrize(
    "params, complaint",
    [
        (CONV2D, None),
        (CONV2D + ", *, seed=None", None),
        ("input, weight, bias=None, stride=1, padding=0, dilation=1", "missing"),
        (CONV2D.replace("stride=1", "stride=2"), "'stride' defaults to 2, torch's to 1"),
        ("input, weight, bias=None, padding=0, stride=1, dilation=1, groups=1", "is 'padding'"),
        (CONV2D.replace("bias=None,", "bias=None, *,"), "keyword-only"),
        (CONV2D + ", seed=None", "extra parameter 'seed'"),
        (CONV2D.replace("input,", "input, /,"), "positional-only"),
    ],
)
def test_checker_on_conv2d_variants(params, complaint):
    problems = differences(torch_signature(torch.nn.functional.conv2d), _sig(params))
    if complaint is None:
        assert problems == []
    else:
        assert problems and complaint in " ".join(problems), problems


def test_checker_tells_bool_from_int_defaults():
    problems = differences(torch_signature(torch.nn.functional.relu), _sig("input, inplace=0"))
    assert problems == ["'inplace' defaults to 0, torch's to False"]
