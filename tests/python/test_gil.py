# SPDX-License-Identifier: MIT
"""The GIL is released while a command runs: another Python thread makes progress meanwhile."""
import threading


def test_python_thread_progresses_during_run(session, images):
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    seen = []
    t = threading.Thread(target=spin)
    t.start()
    try:
        # The callback holds the GIL only for itself; between callbacks the engine runs without it.
        session.run(images["content"][0], images["style"][0], num_iterations=8, image_size=32, quiet=True,
              callback=lambda i, terms, sec: seen.append(counter[0]))
    finally:
        stop.set()
        t.join()
    assert len(seen) == 8
    # Were the GIL held through run(), the counter would be frozen between iterations.
    grew = sum(1 for a, b in zip(seen, seen[1:]) if b > a)
    assert grew >= 5, seen
