"""ENAS (Pham et al. 2018): an LSTM controller that samples one op per row, as the "distribution".

The controller (after D-X-Y/AutoDL-Projects' NAS-Bench-201 controller: a 2-layer LSTM of 32 units, logits
divided by a temperature of 5 and squashed by ``1.5 * tanh``) reads a learned start token, emits the
logits of the first row's decision, feeds the embedding of the chosen op back in, and so on through every
row of every group (NB201: the 6 edges of the cell). Each group has its own embedding and decoder, so
groups of different widths work. Its parameters are trained by REINFORCE (:mod:`balenas.archopt.reinforce`);
the moving-average reward baseline is a buffer here, so it is checkpointed with the controller.

Mixing weights are always one-hot: :meth:`train_weights` samples a cell for the weight step,
:meth:`mean_alpha` is the greedy (argmax) decoding, used for the per-epoch genotype, and
:meth:`selection_params` one sample for the selector ``controller``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from balenas.archdist.base import ArchDistribution
from balenas.spaces.base import ArchParams, GroupShapes


@dataclass
class ControllerSample:
    """One architecture: the chosen index per row, and the summed log-probability and entropy."""

    choices: dict[str, torch.Tensor]  # group -> (rows,) long
    log_prob: torch.Tensor
    entropy: torch.Tensor


class LSTMController(ArchDistribution):
    def __init__(
        self,
        groups: GroupShapes,
        hidden: int = 32,
        layers: int = 2,
        temperature: float = 5.0,
        tanh_constant: float = 1.5,
    ) -> None:
        super().__init__(groups)
        if hidden < 1 or layers < 1 or temperature <= 0 or tanh_constant <= 0:
            raise ValueError("the ENAS controller needs hidden, layers >= 1 and temperature, tanh_constant > 0, got "
                             f"{hidden}, {layers}, {temperature}, {tanh_constant}")
        self.temperature, self.tanh_constant = float(temperature), float(tanh_constant)
        self.start = nn.Parameter(torch.zeros(1, 1, hidden))
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers)
        self.embed = nn.ModuleDict({name: nn.Embedding(cols, hidden) for name, (_, cols) in self.groups.items()})
        self.decode = nn.ModuleDict({name: nn.Linear(hidden, cols) for name, (_, cols) in self.groups.items()})
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)
        self.register_buffer("baseline", torch.tensor(float("nan")))

    def _logits(self, out: torch.Tensor, name: str) -> torch.Tensor:
        logits = self.decode[name](out.reshape(-1)) / self.temperature
        return self.tanh_constant * torch.tanh(logits)

    def run(self, generator: torch.Generator | None) -> ControllerSample:
        """Decode every row: a sample from ``generator``, or the argmax when ``generator`` is None."""
        x, state = self.start, None
        choices: dict[str, torch.Tensor] = {}
        log_prob = self.start.new_zeros(())
        entropy = self.start.new_zeros(())
        for name, (rows, _) in self.groups.items():
            picked = []
            for _ in range(rows):
                out, state = self.lstm(x, state)
                logits = self._logits(out, name)
                logp = F.log_softmax(logits, -1)
                if generator is None:
                    idx = int(logits.argmax())
                else:
                    idx = int(torch.multinomial(logp.detach().exp().cpu(), 1, generator=generator))
                log_prob = log_prob + logp[idx]
                entropy = entropy - (logp.exp() * logp).sum()
                picked.append(idx)
                x = self.embed[name](torch.tensor([idx], device=logits.device)).view(1, 1, -1)
            choices[name] = torch.tensor(picked)
        return ControllerSample(choices, log_prob, entropy)

    def one_hot(self, choices: dict[str, torch.Tensor]) -> ArchParams:
        device = self.start.device
        return {n: F.one_hot(c, self.groups[n][1]).to(torch.float32).to(device) for n, c in choices.items()}

    def sample_alpha(self, generator: torch.Generator) -> ArchParams:
        return self.mean_alpha()

    def mean_alpha(self) -> ArchParams:
        with torch.no_grad():
            return self.one_hot(self.run(None).choices)

    def to_weights(self, alpha):  # one-hot rows are their own mixing weights
        return dict(alpha)

    def train_weights(self, generator: torch.Generator, mode: str) -> ArchParams:
        if mode == "mean":
            return self.mean_alpha()
        with torch.no_grad():
            return self.one_hot(self.run(generator).choices)

    def selection_params(self, generator: torch.Generator) -> ArchParams:
        return self.train_weights(generator, "sample")

    def stats(self) -> dict[str, float]:
        with torch.no_grad():
            ent = float(self.run(None).entropy)
        return {"controller_entropy": ent, "reward_baseline": float(self.baseline)}
