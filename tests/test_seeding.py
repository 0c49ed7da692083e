"""Seeded fits: reproducible inside, the global torch RNG untouched outside."""

import threading

import torch

from sk_klpenalty.base import seeded

CPU = torch.device("cpu")


def test_same_seed_same_numbers_and_global_state_restored():
    before = torch.random.get_rng_state()
    with seeded(3, CPU):
        first = torch.rand(4)
    assert torch.equal(torch.random.get_rng_state(), before)
    with seeded(3, CPU):
        assert torch.equal(torch.rand(4), first)
    with seeded(3, CPU, epochs_done=5):  # continued training: new shuffles
        assert not torch.equal(torch.rand(4), first)


def test_none_leaves_the_global_generator_running():
    torch.manual_seed(0)
    expected = torch.rand(2), torch.rand(2)
    torch.manual_seed(0)
    with seeded(None, CPU):
        a = torch.rand(2)
    assert torch.equal(a, expected[0]) and torch.equal(torch.rand(2), expected[1])


def test_seeded_blocks_in_threads_each_stay_reproducible():
    with seeded(7, CPU):
        expected = torch.rand(1000)
    results = []

    def draw():
        with seeded(7, CPU):
            results.append(torch.rand(1000))

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(torch.equal(r, expected) for r in results)
