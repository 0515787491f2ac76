"""What an ISM-band recording holds: the scene (span, rate, length) and its planned emissions.

:func:`plan_scene` draws, for one recording, the bursts of every source that band carries (Wi-Fi OFDM and
DSSS, Bluetooth, BLE, Zigbee, microwave ovens, LTE band 7/41 and NR n41 carriers with TDD patterns) at their
standard channel frequencies, with bursty timing, power, CFO and fading choices. Rendering them into IQ is
:mod:`radiofm.synth.ism`'s job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from radiofm.synth import emitters
from radiofm.synth import impairments as imp

# ------------------------------------------------------------------------------------------------- scene


@dataclass(frozen=True)
class Scene:
    """The observed span: ``n_samples`` at ``sample_rate_hz`` around ``center_freq_hz``."""

    center_freq_hz: float
    sample_rate_hz: float
    n_samples: int

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sample_rate_hz

    @property
    def lower_edge_hz(self) -> float:
        return self.center_freq_hz - self.sample_rate_hz / 2

    @property
    def upper_edge_hz(self) -> float:
        return self.center_freq_hz + self.sample_rate_hz / 2

    def visible(self, center_hz: float, bandwidth_hz: float) -> bool:
        """True when at least half the emission (or half the span, if the emission is wider) is observed."""
        lo = max(center_hz - bandwidth_hz / 2, self.lower_edge_hz)
        hi = min(center_hz + bandwidth_hz / 2, self.upper_edge_hz)
        return hi - lo >= 0.5 * min(bandwidth_hz, self.sample_rate_hz)


@dataclass
class Burst:
    """One planned emission: ``make(rng)`` renders its :class:`~radiofm.synth.emitters.Waveform`."""

    start_s: float  # from the recording start; negative when already on at the start
    carrier_hz: float  # absolute channel centre including the transmitter's CFO
    snr_db: float  # in-band SNR over the noise floor
    label: str
    channel: str
    make: Callable[[np.random.Generator], emitters.Waveform]
    cfo_hz: float = 0.0
    fading: str | None = None  # a radiofm.synth.channels profile, or None
    doppler_hz: float = 0.0


@dataclass
class _Tx:
    """A transmitter: its power, oscillator error and channel stay fixed across its bursts."""

    snr_db: float
    cfo_hz: float
    fading: str | None
    doppler_hz: float


_INDOOR = ("flat", "EPA", "TDL-A", "TDL-B")
_OUTDOOR = ("EPA", "EVA", "ETU", "TDL-A", "TDL-B", "TDL-C")


@dataclass
class _Plan:
    scene: Scene
    rng: np.random.Generator
    snr_db_range: tuple[float, float]
    fading_probability: float
    bursts: list[Burst] = field(default_factory=list)

    def tx(self, center_hz: float, *, ppm: float, outdoor: bool = False, snr_offset_db: float = 0.0) -> _Tx:
        rng = self.rng
        snr = float(rng.uniform(*self.snr_db_range)) + snr_offset_db
        cfo = imp.ppm_to_hz(rng.uniform(-ppm, ppm), center_hz)
        profile, doppler = None, 0.0
        if rng.random() < self.fading_probability:
            profile = str(rng.choice(_OUTDOOR if outdoor else _INDOOR))
            doppler = float(rng.uniform(1.0, 150.0) if outdoor else rng.uniform(0.1, 5.0))
        return _Tx(snr, cfo, profile, doppler)

    def add(self, tx: _Tx, label: str, channel: str, center_hz: float, start_s: float, make, bandwidth_hz: float):
        """Plan a burst when it is observed (in time and frequency); ``bandwidth_hz`` is for that check only."""
        if start_s < self.scene.duration_s and self.scene.visible(center_hz, bandwidth_hz):
            b = Burst(
                start_s, center_hz + tx.cfo_hz, tx.snr_db, label, channel, make, tx.cfo_hz, tx.fading, tx.doppler_hz
            )
            self.bursts.append(b)

    def pick(self, channels: list[tuple[str, float]], bandwidth_hz: float) -> tuple[str, float] | None:
        seen = [c for c in channels if self.scene.visible(c[1], bandwidth_hz)]
        return seen[int(self.rng.integers(len(seen)))] if seen else None

    def place(self, band_lo_hz: float, band_hi_hz: float, bandwidth_hz: float, raster_hz: float) -> float | None:
        """A carrier centre inside the operating band and inside the observed span, on the raster."""
        lo = max(band_lo_hz + bandwidth_hz / 2, self.scene.lower_edge_hz)
        hi = min(band_hi_hz - bandwidth_hz / 2, self.scene.upper_edge_hz)
        if hi < lo:
            return None
        return float(np.clip(np.round(self.rng.uniform(lo, hi) / raster_hz) * raster_hz, lo, hi))


def _wifi_ofdm(p: _Plan) -> None:
    rng = p.rng
    for _ in range(int(rng.choice([0, 1, 1, 2, 2, 3]))):
        ht40 = rng.random() < 0.25
        bw = 40e6 if ht40 else 20e6
        chans = [
            (f"wifi-{'ht40-' if ht40 else ''}{n}", 2412e6 + 5e6 * (n - 1))
            for n in range(3 if ht40 else 1, 12 if ht40 else 14)
        ]
        chan = p.pick(chans, 36.6e6 if ht40 else 16.6e6)
        if chan is None:
            continue
        name, fc = chan
        ap, sta = p.tx(fc, ppm=10), p.tx(fc, ppm=10)
        busy = rng.uniform(0.03, 0.5)
        for t, d in imp.burst_times(
            rng, t_end_s=p.scene.duration_s, busy_fraction=busy, duration_s_range=(50e-6, 2e-3), min_gap_s=90e-6
        ):
            d = 20e-6 + 4e-6 * max(1, round((d - 20e-6) / 4e-6))  # preamble + whole 4 µs symbols
            src, dst = (ap, sta) if rng.random() < 0.6 else (sta, ap)
            p.add(src, "wifi-ofdm", name, fc, t, partial(emitters.wifi_ofdm, duration_s=d, bandwidth_hz=bw), bw)
            if rng.random() < 0.9:  # ACK after SIFS (+ ERP signal extension)
                ack = 20e-6 + 4e-6 * int(rng.integers(2, 7))
                p.add(
                    dst,
                    "wifi-ofdm",
                    name,
                    fc,
                    t + d + 16e-6,
                    partial(emitters.wifi_ofdm, duration_s=ack, bandwidth_hz=bw),
                    bw,
                )


def _wifi_dsss(p: _Plan) -> None:
    rng = p.rng
    if rng.random() >= 0.25:
        return
    chan = p.pick([(f"wifi-{n}", 2412e6 + 5e6 * (n - 1)) for n in range(1, 14)], 22e6)
    if chan is None:
        return
    name, fc = chan
    ap, sta = p.tx(fc, ppm=20), p.tx(fc, ppm=20)
    traffic = imp.burst_times(
        rng,
        t_end_s=p.scene.duration_s,
        busy_fraction=rng.uniform(0.02, 0.2),
        duration_s_range=(0.2e-3, 3e-3),
        min_gap_s=0.4e-3,
    )
    beacon = -rng.uniform(0, 0.1024)  # beacons every 100 TU
    traffic += [(t, rng.uniform(1.0e-3, 2.5e-3)) for t in np.arange(beacon, p.scene.duration_s, 0.1024)]
    for t, d in traffic:
        d = 1e-6 * max(200, round(d * 1e6))
        src, dst = (ap, sta) if rng.random() < 0.6 else (sta, ap)
        p.add(src, "wifi-dsss", name, fc, t, partial(emitters.wifi_dsss, duration_s=d), 22e6)
        if rng.random() < 0.8:
            ack = 1e-6 * int(rng.integers(248, 305))
            p.add(dst, "wifi-dsss", name, fc, t + d + 10e-6, partial(emitters.wifi_dsss, duration_s=ack), 22e6)


def _bluetooth(p: _Plan) -> None:
    rng, slot = p.rng, 625e-6
    packets = ((126e-6, 366e-6, 1), (1.0e-3, 1.626e-3, 3), (2.0e-3, 2.871e-3, 5))  # DH1-ish, DH3, DH5
    for _ in range(int(rng.choice([0, 0, 1, 1, 2]))):
        central, peripheral = p.tx(2441e6, ppm=20), p.tx(2441e6, ppm=20)
        activity = rng.uniform(0.2, 1.0)
        t = -rng.uniform(0, 2 * slot)
        while t < p.scene.duration_s:
            if rng.random() >= activity:
                t += 2 * slot
                continue
            lo, hi, n_slots = packets[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
            for tx in (central, peripheral):  # a packet, then the reply in the next free slot
                k, d = int(rng.integers(79)), float(rng.uniform(lo, hi))
                p.add(tx, "bluetooth", f"bt-{k}", 2402e6 + 1e6 * k, t, partial(emitters.bluetooth, duration_s=d), 1e6)
                t += n_slots * slot
                lo, hi, n_slots = packets[0]


def _ble(p: _Plan) -> None:
    rng = p.rng
    chans = ((37, 2402e6), (38, 2426e6), (39, 2480e6))
    for _ in range(int(rng.choice([0, 1, 1, 2, 3, 4]))):
        adv, scanner = p.tx(2440e6, ppm=40), p.tx(2440e6, ppm=40)
        interval = rng.uniform(20e-3, 100e-3)
        d = 1e-6 * int(rng.integers(128, 377))  # the same advertising PDU every event
        scannable = rng.random() < 0.3
        t = -rng.uniform(0, interval)
        while t < p.scene.duration_s:
            tc = t
            for ch, f in chans:
                p.add(adv, "ble", f"ble-{ch}", f, tc, partial(emitters.ble, duration_s=d), 1.2e6)
                tc += d
                if scannable and rng.random() < 0.2:  # SCAN_REQ then SCAN_RSP, T_IFS = 150 µs apart
                    p.add(scanner, "ble", f"ble-{ch}", f, tc + 150e-6, partial(emitters.ble, duration_s=176e-6), 1.2e6)
                    rsp = 1e-6 * int(rng.integers(128, 377))
                    p.add(adv, "ble", f"ble-{ch}", f, tc + 476e-6, partial(emitters.ble, duration_s=rsp), 1.2e6)
                    tc += 476e-6 + rsp
                tc += rng.uniform(0.15e-3, 1.0e-3)
            t += interval + rng.uniform(0, 10e-3)  # advInterval + advDelay


def _zigbee(p: _Plan) -> None:
    rng = p.rng
    for _ in range(int(rng.choice([0, 0, 0, 1, 1, 2]))):
        chan = p.pick([(f"zigbee-{k}", 2405e6 + 5e6 * (k - 11)) for k in range(11, 27)], 2.4e6)
        if chan is None:
            continue
        name, fc = chan
        a, b = p.tx(fc, ppm=40), p.tx(fc, ppm=40)
        busy = rng.uniform(0.01, 0.15)
        for t, d in imp.burst_times(
            rng, t_end_s=p.scene.duration_s, busy_fraction=busy, duration_s_range=(0.5e-3, 4.256e-3), min_gap_s=0.9e-3
        ):
            src, dst = (a, b) if rng.random() < 0.5 else (b, a)
            p.add(src, "zigbee", name, fc, t, partial(emitters.zigbee, duration_s=d), 2.4e6)
            if rng.random() < 0.7:  # ACK after the 12-symbol turnaround
                p.add(dst, "zigbee", name, fc, t + d + 192e-6, partial(emitters.zigbee, duration_s=352e-6), 2.4e6)


def _microwave(p: _Plan) -> None:
    rng = p.rng
    if rng.random() >= 0.25:
        return
    centre, sweep = rng.uniform(2.450e9, 2.462e9), rng.uniform(8e6, 25e6)
    oven = p.tx(centre, ppm=0)
    period = 1.0 / float(rng.choice([50.0, 60.0]))
    duty = rng.uniform(0.45, 0.55)
    t = -rng.uniform(0, period)
    while t < p.scene.duration_s:
        on, sw = duty * period * rng.uniform(0.97, 1.03), sweep * rng.uniform(0.9, 1.0)
        p.add(oven, "microwave", "microwave", centre, t, partial(emitters.microwave, duration_s=on, sweep_hz=sw), sw)
        t += period


_LTE_RB = {5e6: 25, 10e6: 50, 15e6: 75, 20e6: 100}  # 15 kHz SCS
_NR_RB = {10e6: 24, 15e6: 38, 20e6: 51}  # 30 kHz SCS (38.101-1)
_LTE_TDD = ("DSUUUDSUUU", "DSUUDDSUUD", "DSUDDDSUDD", "DSUUUDDDDD", "DSUUDDDDDD", "DSUDDDDDDD", "DSUUUDSUUD")
_NR_TDD = ("DDDSU", "DDDDDDDSUU", "DDSU", "DDDSUDDSUU")


def _fft_size(n_subcarriers: int) -> int:
    return min(f for f in (128, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096) if f >= 1.1 * n_subcarriers)


def _carrier(p: _Plan, rat: str, band: tuple[float, float]):
    rng = p.rng
    table, scs, raster = (_LTE_RB, 15e3, 100e3) if rat == "lte" else (_NR_RB, 30e3, 30e3)
    bw = float(rng.choice(sorted(table)))
    centre = p.place(*band, bw, raster)
    n_rb = table[bw]
    ofdm = partial(emitters.ofdm_carrier, scs_hz=scs, n_rb=n_rb, fft_size=_fft_size(12 * n_rb), dc_null=rat == "lte")
    return centre, bw, n_rb, ofdm


def _uplink(
    p: _Plan, ues: list[_Tx], rat: str, name: str, centre: float, bw: float, n_rb: int, ofdm, t: float, d: float
):
    rng = p.rng
    count = int(rng.integers(1, n_rb + 1))
    first = int(rng.integers(0, n_rb - count + 1))
    ue = ues[int(rng.integers(len(ues)))]
    p.add(ue, rat, name, centre, t, partial(ofdm, duration_s=d, rb_start=first, rb_count=count), bw)


def _tdd_runs(
    pattern: str, slot_s: float, special_dl: float, t0: float, t_end: float
) -> list[tuple[str, float, float]]:
    """Contiguous DL / UL runs ``(kind, start_s, duration_s)`` of a TDD slot pattern starting at ``t0``; a
    special slot ends the DL run with its DL part, then the guard period."""
    runs, cur, t, i = [], None, t0, 0
    while t < t_end:
        c = pattern[i % len(pattern)]
        kind, end = ("D", t + special_dl * slot_s) if c == "S" else (c, t + slot_s)
        if cur and cur[0] == kind and abs(cur[2] - t) < 1e-9:
            cur[2] = end
        else:
            if cur:
                runs.append(cur)
            cur = [kind, t, end]
        if c == "S":
            runs.append(cur)
            cur = None
        t, i = t + slot_s, i + 1
    if cur:
        runs.append(cur)
    return [(k, a, b - a) for k, a, b in runs]


def _cellular(p: _Plan) -> None:
    """LTE band 7 FDD (DL 2620–2690, UL 2500–2570 MHz), LTE band 41 and NR n41 TDD (2496–2690 MHz)."""
    rng, dur = p.rng, p.scene.duration_s
    if rng.random() < 0.6:
        centre, bw, _, ofdm = _carrier(p, "lte", (2620e6, 2690e6))
        if centre is not None:
            enb = p.tx(centre, ppm=0.05, outdoor=True)
            p.add(enb, "lte", f"lte-b7-dl-{bw / 1e6:g}MHz", centre, -1e-3, partial(ofdm, duration_s=dur + 2e-3), bw)
    if rng.random() < 0.5:
        centre, bw, n_rb, ofdm = _carrier(p, "lte", (2500e6, 2570e6))
        if centre is not None:
            ues = [p.tx(centre, ppm=0.1, outdoor=True, snr_offset_db=-rng.uniform(0, 15)) for _ in range(3)]
            load, t = rng.uniform(0.2, 0.9), -float(rng.integers(0, 3)) * 1e-3
            while t < dur:
                n_sf = int(rng.integers(1, 4))
                if rng.random() < load:
                    _uplink(p, ues, "lte", f"lte-b7-ul-{bw / 1e6:g}MHz", centre, bw, n_rb, ofdm, t, n_sf * 1e-3)
                t += n_sf * 1e-3
    for rat in ("lte", "nr"):
        if rng.random() >= 0.6:
            continue
        centre, bw, n_rb, ofdm = _carrier(p, rat, (2496e6, 2690e6))
        if centre is None:
            continue
        name = f"{'lte-b41' if rat == 'lte' else 'nr-n41'}-{bw / 1e6:g}MHz"
        pattern = str(rng.choice(_LTE_TDD if rat == "lte" else _NR_TDD))
        slot_s = 1e-3 if rat == "lte" else 0.5e-3
        special_dl = float(rng.choice([3, 9, 10, 11, 12])) / 14
        bs = p.tx(centre, ppm=0.05, outdoor=True)
        ues = [p.tx(centre, ppm=0.1, outdoor=True, snr_offset_db=-rng.uniform(0, 15)) for _ in range(3)]
        ul_load = rng.uniform(0.3, 0.9)
        for kind, t, d in _tdd_runs(pattern, slot_s, special_dl, -rng.uniform(0, 10e-3), dur):
            if kind == "D":
                p.add(bs, rat, name, centre, t, partial(ofdm, duration_s=d), bw)
            elif rng.random() < ul_load:
                _uplink(p, ues, rat, name, centre, bw, n_rb, ofdm, t, d)


_SOURCES = (_wifi_ofdm, _wifi_dsss, _bluetooth, _ble, _zigbee, _microwave, _cellular)


def plan_scene(
    scene: Scene, rng: np.random.Generator, *, snr_db_range: tuple[float, float], fading_probability: float
) -> list[Burst]:
    """Draw the emissions of one recording, in render order. An empty draw is redrawn (up to 4 times), so a
    recording holds something whenever its span can."""
    plan = _Plan(scene, rng, snr_db_range, fading_probability)
    for _ in range(4):
        for source in _SOURCES:
            source(plan)
        if plan.bursts:
            break
    return plan.bursts
