"""Training speed: plain Keras ``model.fit`` against the workbench's loop, same network, same batch.

Run by hand: ``python tests/benchmarks/bench_training.py [--rows 2000] [--days 1035]
[--batches N] [--models mlp,cnn_lstm,conv_lstm]``. For each model it builds the study's
architecture twice with the same seed, warms both up (tracing and compiling are not timed),
then times a fixed number of batches (setup and the first batch of each round left out) in
alternating rounds, and prints the best samples per second of each side by side, the ratio,
the same per second of processor time (``cpu``: less bent by other programs' load),
and the training loss of the last round (the two should be close: same arithmetic). On a
shared machine the best of a few alternating rounds is the figure least bent by other load.

The plain side is the study's Keras build (TimeDistributed for the CNN-LSTM, ConvLSTM2D) with
``compile`` and ``fit``. Ours is the workbench's build and loop: the CNN-LSTM with its steps
folded into the batch, Adam as one kernel per weight tensor (``core.training.adam``), the
batch gathered on the device. Figures on a shared 2-core AMD EPYC (AVX-512), 2000 x 1035,
samples per second, wall / processor time:

=========  ===============  ===============  ===========
model      fit              ours             ratio
=========  ===============  ===============  ===========
mlp        17,500 / 17,260  20,920 / 20,930  1.20 / 1.21
cnn_lstm      259 /    249     694 /    715  2.68 / 2.88
conv_lstm     773 /    409     802 /    419  1.04 / 1.02
=========  ===============  ===============  ===========

The MLP and the ConvLSTM stay short of 1.5x: their steps are matrix products and state
convolutions (about 6.6 and 300 MFLOP per sample) which already run at 70-80% of what this
CPU's plain float32 matrix product reaches (about 170 GFLOP per processor-second) under fit;
with every other cost removed the ceiling would be about 1.5x (MLP) and 1.4x (ConvLSTM).
XLA, bfloat16, unrolled recurrences and the fused ConvLSTM layer were measured and were
slower by the clock.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# The plain side builds the network from Keras' stock layers only.
PLAIN_BUILD = {
    "conv_lstm": {"fused": False, "unroll": False},
    "cnn_lstm": {"fold_steps": False, "unroll": False},
}
DEFAULT_BATCHES = {"mlp": 7, "cnn_lstm": 10, "conv_lstm": 3}


def _data(rows: int, days: int, seed: int = 0):
    """Weekly-periodic normal customers, flatter and lower thieves, scaled to [0, 1]."""
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < 0.5).astype(np.float32)
    week = 0.5 + 0.2 * np.sin(np.arange(days) * 2 * np.pi / 7)
    X = week + 0.1 * rng.standard_normal((rows, days))
    X[y == 1] *= 0.7
    return np.clip(X, 0, 1).astype(np.float32), y


class _BatchClock:
    """Time at the end of every batch, so fit's one-off setup is left out of the figure."""

    def __init__(self):
        import keras

        clock = self

        class Clock(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                clock.ends.append(time.perf_counter())
                clock.cpu.append(time.process_time())

        self.ends: list[float] = []
        self.cpu: list[float] = []
        self.callback = Clock()


def _plain_fit(name, X, y, batch, n_batches, seed):
    """Keras' fit on the same network; returns a function timing one round of batches."""
    import keras

    from core.models import build, default_params

    params = default_params(name) | PLAIN_BUILD.get(name, {})
    keras.utils.set_random_seed(seed)
    model = build(name, X.shape[1], params)
    model.compile(
        optimizer=keras.optimizers.Adam(params["learning_rate"]),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    rows = (n_batches + 1) * batch

    def one_round():
        clock = _BatchClock()
        history = model.fit(
            X[:rows], y[:rows], batch_size=batch, epochs=1, verbose=0, callbacks=[clock.callback]
        )
        # from the end of the first batch: fit's setup and its first step are left out
        samples = n_batches * batch
        wall, cpu = clock.ends[-1] - clock.ends[0], clock.cpu[-1] - clock.cpu[0]
        return samples / wall, samples / cpu, history.history["loss"][-1]

    one_round()  # tracing
    return one_round


def _our_loop(name, X, y, batch, n_batches, seed):
    """The workbench's loop on the same network; returns a function timing one round."""
    import keras

    from core.models import build, default_params
    from core.training.device import choose_device
    from core.training.loop import DeepTrainer

    params = default_params(name)
    keras.utils.set_random_seed(seed)
    model = build(name, X.shape[1], params)
    device, _ = choose_device()
    rows = (n_batches + 1) * batch
    trainer = DeepTrainer(
        model, X[:rows], y[:rows], batch_size=batch,
        learning_rate=params["learning_rate"], seed=seed, device=device,
    )  # fmt: skip

    def one_round():
        batches = trainer.epoch_batches()
        losses = [trainer.train_batch(batches[0])[0]]
        start, cpu = time.perf_counter(), time.process_time()
        losses += [trainer.train_batch(b)[0] for b in batches[1:]]
        samples = n_batches * batch
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return samples / wall, samples / cpu, float(np.mean(losses))

    one_round()  # tracing
    return one_round


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--days", type=int, default=1035)
    parser.add_argument("--batches", type=int, default=0, help="timed batches (0: per model)")
    parser.add_argument("--models", default="mlp,cnn_lstm,conv_lstm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; best kept")
    args = parser.parse_args(argv)

    from core.models import default_params
    from core.training.device import choose_device

    X, y = _data(args.rows, args.days, args.seed)
    print(f"device: {choose_device()[1]}; data {args.rows} x {args.days}")
    print(
        f"{'model':<10} {'batch':>5} {'batches':>7} {'fit s/s':>9} {'ours s/s':>9} "
        f"{'ratio':>6} {'fit cpu':>8} {'our cpu':>8} {'ratio':>6} {'fit loss':>9} {'our loss':>9}"
    )
    for name in args.models.split(","):
        batch = default_params(name)["batch_size"]
        n_batches = args.batches or DEFAULT_BATCHES[name]
        n_batches = min(n_batches, args.rows // batch - 1)
        plain_round = _plain_fit(name, X, y, batch, n_batches, args.seed)
        our_round = _our_loop(name, X, y, batch, n_batches, args.seed)
        plain_runs, our_runs = [], []
        for _ in range(args.rounds):  # alternate, so a load spike hits both
            plain_runs.append(plain_round())
            our_runs.append(our_round())
        plain, plain_cpu = max(r[0] for r in plain_runs), max(r[1] for r in plain_runs)
        ours, our_cpu = max(r[0] for r in our_runs), max(r[1] for r in our_runs)
        plain_loss, our_loss = plain_runs[-1][2], our_runs[-1][2]
        print(
            f"{name:<10} {batch:>5} {n_batches:>7} {plain:>9.0f} {ours:>9.0f} "
            f"{ours / plain:>6.2f} {plain_cpu:>8.0f} {our_cpu:>8.0f} {our_cpu / plain_cpu:>6.2f} "
            f"{plain_loss:>9.4f} {our_loss:>9.4f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
