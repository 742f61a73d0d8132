"""The fused score's authority prior: only where policy and regulator guidance meet."""

from __future__ import annotations

import numpy as np

from knowledge.ranking import FusionWeights, Signals, about_regulator, fuse

ZEROS = np.zeros((2, 2), dtype=np.float32)
QUESTIONS = ["Can I use ChatGPT for customer emails?", "What fines can the PCPD impose?"]
WEIGHTS = FusionWeights(0.4, 0.2, 0.4, 0.08)


def test_no_prior_in_a_policy_only_or_guidance_only_index() -> None:
    signals = Signals(ZEROS, ZEROS, ZEROS, about_regulator(QUESTIONS))
    assert np.all(fuse(signals, WEIGHTS, np.array([True, True])) == 0)
    assert np.all(fuse(signals, WEIGHTS, np.array([False, False])) == 0)


def test_policy_first_unless_the_question_names_the_regulator() -> None:
    signals = Signals(ZEROS, ZEROS, ZEROS, about_regulator(QUESTIONS))
    fused = fuse(signals, WEIGHTS, np.array([True, False]))  # section 0 policy, 1 guidance
    assert fused[0, 0] > fused[0, 1]
    assert fused[1, 1] > fused[1, 0]
