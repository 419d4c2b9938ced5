import itertools

import pytest
import torch

from pgm.structure.bayesnet import BayesNet, NetworkError, chain, sprinkler


def brute_force(net, query, evidence):
    """p(query | evidence) by summing the product of CPT entries over every assignment."""
    names = net.order
    table = torch.zeros([net.card[q] for q in query], dtype=torch.float64)
    for values in itertools.product(*[range(net.card[n]) for n in names]):
        v = dict(zip(names, values, strict=True))
        if any(v[k] != e for k, e in evidence.items()):
            continue
        p = 1.0
        for n in names:
            p *= net.cpt[n][tuple(v[q] for q in net.parents[n]) + (v[n],)].item()
        table[tuple(v[q] for q in query)] += p
    return table / table.sum()


def test_sprinkler_textbook_posteriors():
    net = sprinkler()
    torch.testing.assert_close(net.query("rain", {"wet": 1})[1].item(), 0.7079, atol=1e-4,
                               rtol=0)
    torch.testing.assert_close(net.query("sprinkler", {"wet": 1})[1].item(), 0.4298,
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("query,evidence", [
    (["rain"], {"wet": 1}), (["sprinkler", "rain"], {"wet": 1}),
    (["rain", "sprinkler"], {"wet": 1}), (["cloudy"], {"wet": 1, "sprinkler": 0}),
    (["wet", "cloudy"], {}), (["cloudy", "sprinkler", "rain", "wet"], {}),
])
def test_enumeration_agrees_with_brute_force(query, evidence):
    net = sprinkler()
    torch.testing.assert_close(net.query(query, evidence), brute_force(net, query, evidence))


def test_compute_marginals_and_infer_discrete_agree():
    net = sprinkler()
    ev = {"wet": 1}
    for name, probs in net.marginals(ev).items():
        torch.testing.assert_close(probs, net.query(name, ev))
    joint = net.query(["cloudy", "sprinkler", "rain"], ev)
    best = torch.nonzero(joint == joint.max())[0].tolist()
    assert net.map_estimate(ev) == dict(zip(["cloudy", "sprinkler", "rain"], best, strict=True))


def test_bayes_rule_by_hand_on_the_chain():
    net = chain()
    # p(x | y=1) = p(y=1 | x) p(x) / p(y=1)
    px = net.cpt["x"]
    py_given_x = torch.stack([(net.cpt["z"][x] * net.cpt["y"][:, 1]).sum() for x in range(2)])
    expected = py_given_x * px / (py_given_x * px).sum()
    torch.testing.assert_close(net.query("x", {"y": 1}), expected)
    assert abs(net.probability({"y": 1}) - (py_given_x * px).sum().item()) < 1e-12


def test_conditional_independence_numerically_and_by_d_separation():
    net = chain()
    assert not net.independent("x", "y") and not net.d_separated("x", "y")
    assert net.independent("x", "y", "z") and net.d_separated("x", "y", "z")
    s = sprinkler()
    cases = [("sprinkler", "rain", []), ("sprinkler", "rain", ["cloudy"]),
             ("sprinkler", "rain", ["cloudy", "wet"]), ("cloudy", "wet", ["sprinkler", "rain"]),
             ("cloudy", "wet", ["rain"]), ("sprinkler", "rain", ["wet"])]
    for x, y, z in cases:  # the graph and the numbers give the same answer
        assert s.d_separated(x, y, z) == s.independent(x, y, z), (x, y, z)
    assert s.d_separated("sprinkler", "rain", ["cloudy"])
    assert not s.d_separated("sprinkler", "rain", ["cloudy", "wet"])  # explaining away


def test_p_x_given_y_z_equals_p_x_given_z_to_1e6():
    net = chain()
    for y, z in itertools.product(range(2), range(2)):
        a = net.query("x", {"y": y, "z": z})
        b = net.query("x", {"z": z})
        assert (a - b).abs().max() < 1e-6


@pytest.mark.parametrize("nodes,match", [
    ({"a": (["b"], [[0.5, 0.5], [0.5, 0.5]]), "b": (["a"], [[0.5, 0.5], [0.5, 0.5]])},
     "cycle"),
    ({"a": (["zz"], [[0.5, 0.5]])}, "parent 'zz', which is not a variable"),
    ({"a": ([], [0.5, 0.6])}, "sum to 1"),
    ({"a": ([], [0.5, 0.5]), "b": (["a"], [0.5, 0.5])}, r"shape \(2, 2\)"),
])
def test_bad_networks(nodes, match):
    with pytest.raises(NetworkError, match=match):
        BayesNet(nodes)


def test_bad_queries():
    net = sprinkler()
    with pytest.raises(NetworkError, match="unknown variable 'snow'"):
        net.query("rain", {"snow": 1})
    with pytest.raises(NetworkError, match="'wet' takes values 0..1, got 2"):
        net.query("rain", {"wet": 2})
    with pytest.raises(NetworkError, match="probability zero"):
        net.query("cloudy", {"wet": 1, "sprinkler": 0, "rain": 0})
    with pytest.raises(NetworkError, match="also in the evidence"):
        net.query("wet", {"wet": 1})
