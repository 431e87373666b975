"""TextCNN's export form with its convolutions precomputed per vocabulary word.

A convolution's input at a position depends only on the token there, so each kernel tap's product with every
word's input vector is a table [vocabulary + 1, channels] computed once at export; a convolution output is then
the bias plus one table row per tap, a gather and a few additions instead of a matrix product over
160 x kernel inputs. ONNX Runtime runs it 3-4x faster on batches (the occlusion evidence's, a document's), the
same function to float32 rounding (the export's parity check compares it with the trained model). The extra row
is the zero vector of the convolution's padding outside the text.
"""

from __future__ import annotations

import torch
from torch import nn

# The tables replace the embedding: vocabulary x taps x channels floats. A vocabulary far larger than the
# generated data's (a full GloVe word list) keeps the convolutions (ml.models._Conv2dTextCNN) instead.
MAX_TABLE_BYTES = 64 * 2**20


def table_bytes(source) -> int:
    vocabulary = source.embedding.weight.shape[0] + 1
    return sum(vocabulary * conv.out_channels * conv.kernel_size[0] * 4 for conv in source.convs)


def tables_fit(source) -> bool:
    return table_bytes(source) <= MAX_TABLE_BYTES


class TableTextCNN(nn.Module):
    def __init__(self, source):
        super().__init__()
        self.head = source.head
        self.register_buffer("temperature", source.temperature.detach().clone())
        with torch.no_grad():
            words = source.embedding.weight * source.word_mask
            inputs = torch.cat([words, source.numeric], dim=1).double()
            inputs = torch.cat([inputs, torch.zeros(1, inputs.shape[1], dtype=inputs.dtype)])  # outside the text
        self.outside = inputs.shape[0] - 1
        self.kernels = [conv.kernel_size[0] for conv in source.convs]
        self.reach = max(k // 2 for k in self.kernels)
        self.tables = nn.ParameterList()
        self.biases = nn.ParameterList()
        for conv in source.convs:
            weight = conv.weight.detach().double()  # [channels, inputs, k]
            for tap in range(weight.shape[2]):
                self.tables.append(nn.Parameter((inputs @ weight[:, :, tap].T).float(), requires_grad=False))
            self.biases.append(nn.Parameter(conv.bias.detach().clone(), requires_grad=False))

    def scaled_logits(self, token_ids: torch.Tensor) -> torch.Tensor:
        length = token_ids.shape[1]
        mask = (token_ids != 0).unsqueeze(2)  # [b, s, 1]
        padded = nn.functional.pad(token_ids, (self.reach, self.reach), value=self.outside)
        pooled, tap = [], 0
        for k, bias in zip(self.kernels, self.biases, strict=True):
            out = bias
            for t in range(k):
                shift = t - k // 2 + self.reach
                out = out + nn.functional.embedding(padded[:, shift : shift + length], self.tables[tap])
                tap += 1
            pooled.append((torch.relu(out) * mask).amax(dim=1))  # ReLU >= 0: zeroing padding is an exact masked max
        return self.head(torch.cat(pooled, dim=1)).squeeze(-1) / self.temperature

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.scaled_logits(token_ids))
