# SPDX-License-Identifier: MIT
"""The GIL is released while a command runs: another Python thread makes progress meanwhile."""
import threading
import time


def test_python_thread_progresses_during_run(session, images):
    # A thread that ticks every millisecond. Each tick needs the GIL: were it held through run(),
    # the thread would tick at most at the few bytecode boundaries of the Python wrapper. No
    # callback is given, since calling Python code would itself let the thread in.
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.001)

    t = threading.Thread(target=tick)
    t.start()
    try:
        time.sleep(0.01)
        begin = time.monotonic()
        session.run(images["content"][0], images["style"][0], num_iterations=10, image_size=32, quiet=True)
        end = time.monotonic()
    finally:
        stop.set()
        t.join()
    during = sum(1 for x in ticks if begin < x < end)
    assert end - begin > 0.1, "the run was too short to tell"
    assert during >= 20, f"{during} ticks in {end - begin:.2f} s"
