"""Attention SVM programs: hand-made instances with known solutions, an independent scipy solve, the vectorized
constraint construction against the authors' loop, infeasibility and local optimality."""

import numpy as np
import pytest
from scipy.optimize import minimize

from theorycheck.errors import InputError, NotSeparableError
from theorycheck.theory import attention as th


def _orthonormal_instance():
    # one sequence, tokens e1, e2, e3, query e1, token 0 selected: constraints w1 - w2 >= 1, w1 - w3 >= 1 on the
    # first column w = W e1; minimum norm w = (2/3, -1/3, -1/3), W = w e1^T (rank one: Frobenius = nuclear).
    X = np.eye(3)[None]
    Z = np.array([[1.0, 0.0, 0.0]])
    W = np.zeros((3, 3))
    W[:, 0] = [2 / 3, -1 / 3, -1 / 3]
    return X, Z, np.array([0]), W


@pytest.mark.parametrize("norm", ["fro", "nuc"])
def test_single_sequence_known_solution(norm):
    X, Z, ids, W = _orthonormal_instance()
    sol = th.att_svm(X, Z, ids, norm)
    assert np.allclose(sol.W, W, atol=1e-5)
    assert sol.value == pytest.approx(np.sqrt(2 / 3), rel=1e-6)
    assert sol.gap <= 1e-6


def test_two_query_instance_closed_forms_and_norms_differ():
    inst = th.two_query_instance(0.5)
    fro = th.att_svm(inst["X"], inst["Z"], inst["ids"], "fro")
    nuc = th.att_svm(inst["X"], inst["Z"], inst["ids"], "nuc")
    assert np.allclose(fro.W, inst["W_fro"], atol=1e-9)
    assert fro.value == pytest.approx(np.sqrt(2), rel=1e-9)
    assert np.allclose(nuc.W, inst["W_nuc"], atol=1e-4)
    assert nuc.value == pytest.approx(2 / np.sqrt(1.5), rel=1e-7)
    cos = np.sum(fro.W * nuc.W) / np.linalg.norm(fro.W) / np.linalg.norm(nuc.W)
    assert cos == pytest.approx(inst["cosine"], abs=1e-4)
    assert inst["cosine"] == pytest.approx(np.sqrt(0.75))
    # the closed forms are feasible and tight
    A, _ = th.constraint_matrix(inst["X"], inst["Z"], inst["ids"])
    for W in (inst["W_fro"], inst["W_nuc"]):
        assert np.allclose(A @ W.ravel(), 1.0)


def _random_instance(seed, n=3, T=4, d=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T, d))
    X /= np.linalg.norm(X, axis=-1, keepdims=True)
    Z = rng.standard_normal((n, d))
    Z /= np.linalg.norm(Z, axis=-1, keepdims=True)
    return X, Z, rng.integers(0, T, n)


def test_constraints_match_the_authors_loop():
    X, Z, ids = _random_instance(1, n=4, T=5, d=3)
    A, pairs = th.constraint_matrix(X, Z, ids)
    W = np.random.default_rng(2).standard_normal((3, 3))
    rows = []
    for i in range(4):  # the authors' W_svm_solver loop: (X[i, j] - X[i, ids[i]]) @ W @ Z[i] <= -1
        for j in range(5):
            if j != ids[i]:
                rows.append(-(X[i, j] - X[i, ids[i]]) @ W @ Z[i])
    assert A.shape == (4 * 4, 9)
    assert np.allclose(A @ W.ravel(), rows)
    assert [tuple(p) for p in pairs] == [(i, j) for i in range(4) for j in range(5) if j != ids[i]]


def test_frobenius_against_independent_scipy_solve():
    X, Z, ids = _random_instance(3, n=3, T=3, d=3)
    A, _ = th.constraint_matrix(X, Z, ids)
    res = minimize(lambda w: w @ w, np.ones(9) * 5, jac=lambda w: 2 * w, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda w: A @ w - 1, "jac": lambda w: A}],
                   options={"ftol": 1e-14, "maxiter": 1000})
    sol = th.att_svm(X, Z, ids, "fro")
    assert np.allclose(sol.W.ravel(), res.x, atol=1e-6)


def test_nuclear_certificate_is_a_valid_lower_bound():
    X, Z, ids = _random_instance(4, n=3, T=4, d=4)
    nuc = th.att_svm(X, Z, ids, "nuc")
    fro = th.att_svm(X, Z, ids, "fro")
    # the Frobenius solution is feasible, so its nuclear norm cannot beat the nuclear optimum (and vice versa)
    assert np.linalg.norm(fro.W, "nuc") >= nuc.value * (1 - 1e-6)
    assert np.linalg.norm(nuc.W) >= fro.value * (1 - 1e-9)
    A, _ = th.constraint_matrix(X, Z, ids)
    assert (A @ nuc.W.ravel()).min() >= 1 - 1e-9


def test_infeasible_instances_raise():
    X, Z, ids, _ = _orthonormal_instance()
    Xdup = X.copy()
    Xdup[0, 1] = Xdup[0, 0]  # a token identical to the selected one cannot be separated from it
    with pytest.raises(NotSeparableError, match="sequence 0 token 1"):
        th.att_svm(Xdup, Z, ids)
    # the same sequence and query, but sequence 1 selects the token sequence 0 rejects: a^T W z >= 1 and <= -1
    X2 = np.concatenate([X, X])
    Z2 = np.concatenate([Z, Z])
    X2 = X2[:, :2, :2]
    Z2 = Z2[:, :2]
    with pytest.raises(NotSeparableError, match="infeasible"):
        th.att_svm(X2, Z2, np.array([0, 1]), "fro")


def test_bad_inputs():
    X, Z, ids, _ = _orthonormal_instance()
    with pytest.raises(InputError, match="norm"):
        th.att_svm(X, Z, ids, "l1")
    with pytest.raises(InputError, match="Z must have shape"):
        th.att_svm(X, Z[:, :2], ids)
    with pytest.raises(InputError, match="ids must lie"):
        th.att_svm(X, Z, np.array([3]))
    with pytest.raises(InputError, match="X must have shape"):
        th.att_svm(X[0], Z, ids)
    with pytest.raises(InputError, match="c must lie"):
        th.two_query_instance(1.5)


def test_local_optimality_on_a_hand_made_instance():
    # d = 2, one sequence, query e1: score of token t is x_t . w with w = W e1. Scores gamma = v . x = (1, 0, 2):
    # token 2 is globally optimal. Selecting token 0: constraints w1 >= 1 and 4 w1 - 5 w2 >= 1, solution w = (1, 0),
    # support token 1 only (gamma 0 < 1): locally optimal. Selecting token 1: both constraints active at
    # w = (-1, -0.8), support tokens 0 and 2 with higher scores: not locally optimal.
    X = np.array([[[1.0, 0.0], [0.0, 0.0], [-3.0, 5.0]]])
    Z = np.array([[1.0, 0.0]])
    gamma = th.token_scores(X, np.array([1.0]), np.array([1.0, 1.0]))
    assert np.allclose(gamma, [[1.0, 0.0, 2.0]])
    sol0 = th.att_svm(X, Z, np.array([0]))
    assert np.allclose(sol0.W, [[1.0, 0.0], [0.0, 0.0]], atol=1e-8)
    sup0 = th.support_tokens(X, Z, np.array([0]), sol0.W)
    assert sup0.tolist() == [[False, True, False]]
    assert th.is_locally_optimal(gamma, np.array([0]), sup0)
    assert not th.is_globally_optimal(gamma, np.array([0]))
    sol1 = th.att_svm(X, Z, np.array([1]))
    assert np.allclose(sol1.W[:, 0], [-1.0, -0.8], atol=1e-8)
    sup1 = th.support_tokens(X, Z, np.array([1]), sol1.W)
    assert sup1.tolist() == [[True, False, True]]
    assert not th.is_locally_optimal(gamma, np.array([1]), sup1)
    sol2 = th.att_svm(X, Z, np.array([2]))
    assert th.is_locally_optimal(gamma, np.array([2]), th.support_tokens(X, Z, np.array([2]), sol2.W))
    assert th.is_globally_optimal(gamma, np.array([2]))


@pytest.mark.parametrize("norm", ["fro", "nuc"])
def test_query_span_reduction_matches_the_full_program(norm):
    # n = 2 queries in d = 4: the solver works on W = M Q^T with Q a basis of span{z_i}; a full d x d program
    # (written here independently) must reach the same optimum and the same W
    import cvxpy as cp

    X, Z, ids = _random_instance(5, n=2, T=4, d=4)
    assert th.query_basis(Z).shape == (4, 2)
    A, _ = th.constraint_matrix(X, Z, ids)
    w = cp.Variable(16)
    objective = cp.sum_squares(w) if norm == "fro" else cp.normNuc(cp.reshape(w, (4, 4), order="C"))
    cp.Problem(cp.Minimize(objective), [A @ w >= 1]).solve(solver="CLARABEL")
    W_full = w.value.reshape(4, 4)
    sol = th.att_svm(X, Z, ids, norm)
    value_full = np.linalg.norm(W_full) if norm == "fro" else np.linalg.norm(W_full, "nuc")
    assert sol.value == pytest.approx(value_full, rel=1e-5)
    if norm == "fro":  # strictly convex: the same W
        assert np.allclose(sol.W, W_full, atol=1e-5)
    assert th.svm_margin(X, Z, ids, sol.W) == pytest.approx(1.0, abs=1e-8)


def test_optimal_tokens_and_the_equal_score_structure():
    gamma = np.array([[[0.1, 0.5, 0.1, 0.1], [0.3, 0.2, 0.9, -0.4]]])
    assert th.optimal_tokens(gamma).tolist() == [[1, 2]]
    gap, spread = th.score_structure(gamma)
    assert np.allclose(gap, [[0.4, 0.6]]) and np.allclose(spread, [[0.0, 0.7]])


def test_svm_margin_is_the_smallest_constraint_value():
    X, Z, ids, W = _orthonormal_instance()  # constraints w1 - w2 >= 1, w1 - w3 >= 1 on the first column
    assert th.svm_margin(X, Z, ids, W) == pytest.approx(1.0)
    W2 = W.copy()
    W2[1, 0] = 0.0  # first constraint 2/3 - 0 = 2/3, second 2/3 + 1/3 = 1
    assert th.svm_margin(X, Z, ids, W2) == pytest.approx(2 / 3)
