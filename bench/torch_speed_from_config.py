#!/usr/bin/env python3
"""The project's PyTorch yardstick: the network of a pipeline experiment file, built in PyTorch.

Reads the experiment's `model.layers` (TensorFlow.js layer names and arguments, as the
pipeline's schema spells them) and `training` (batchSize, optimizer), builds the same network
(channels-first), and trains it on a CIFAR-10 image folder (train/<class>/*.jpg), timing
training alone, so `npm run bench` can compare the same network on the same number of images.
It is a speed reference: shapes, parameter counts and arithmetic match the pipeline's model;
TensorFlow's asymmetric 'same' padding is reproduced with explicit zero padding for convolutions,
and pooling with 'same' uses ceil mode (the same output size).

Needs Debian's python3-torch, python3-pil, python3-yaml:
    apt-get install -y python3-torch python3-pil python3-yaml
Usage:
    python3 bench/torch_speed_from_config.py EXPERIMENT.yaml DATA_DIR/cifar10 [--epochs N]
        [--limit N] [--batch-size B] [--threads T] [--json]
Prints one line per epoch: epoch, loss, seconds, samples_per_second, cpu_seconds, samples_per_cpu_second
(JSON with --json).
"""
import argparse, json, math, os, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from PIL import Image

CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']
ACTIVATIONS = {
    'relu': nn.ReLU, 'relu6': nn.ReLU6, 'elu': nn.ELU, 'selu': nn.SELU, 'tanh': nn.Tanh,
    'sigmoid': nn.Sigmoid, 'hardSigmoid': nn.Hardsigmoid, 'softplus': nn.Softplus,
    'softsign': nn.Softsign, 'swish': nn.SiLU, 'mish': nn.Mish, 'gelu': nn.GELU,
}


def load_train(root, limit):
    """The first limit/10 images of each class (sorted names), as float32 NCHW in [0, 1]."""
    xs, ys = [], []
    per_class = math.ceil(limit / len(CLASSES))
    for label, name in enumerate(CLASSES):
        folder = os.path.join(root, 'train', name)
        for f in sorted(os.listdir(folder))[:per_class]:
            xs.append(np.asarray(Image.open(os.path.join(folder, f)).convert('RGB')))
            ys.append(label)
    x = np.stack(xs)[:limit].astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    y = np.asarray(ys[:limit], dtype=np.int64)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y)


def pair(v, default):
    v = default if v is None else v
    return tuple(v) if isinstance(v, (list, tuple)) else (v, v)


def same_padding(size, kernel, stride):
    """TensorFlow's 'same': total padding split with the extra row/column at the end."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2, out


def activation(name, last):
    if name in (None, 'linear') or (name == 'softmax' and last):
        return []  # a final softmax: CrossEntropyLoss takes logits
    if name == 'softmax':
        return [nn.Softmax(dim=1)]
    return [ACTIVATIONS[name]()]


def build(layers, shape):
    """shape: [C, H, W] while spatial, [F] after flatten; returns an nn.Sequential."""
    mods = []
    for i, L in enumerate(layers):
        t, last = L['type'], i == len(layers) - 1
        if t == 'conv2d':
            c, h, w = shape
            (kh, kw), (sh, sw) = pair(L['kernelSize'], None), pair(L.get('strides'), 1)
            if L.get('padding', 'valid') == 'same':
                t0, b0, oh = same_padding(h, kh, sh)
                l0, r0, ow = same_padding(w, kw, sw)
                if t0 or b0 or l0 or r0:
                    mods.append(nn.ZeroPad2d((l0, r0, t0, b0)))
            else:
                oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
            mods.append(nn.Conv2d(c, L['filters'], (kh, kw), (sh, sw), bias=L.get('useBias', True)))
            mods += activation(L.get('activation'), last)
            shape = [L['filters'], oh, ow]
        elif t in ('maxPooling2d', 'averagePooling2d'):
            c, h, w = shape
            k = pair(L.get('poolSize'), 2)
            s = pair(L.get('strides'), k)
            same = L.get('padding', 'valid') == 'same'
            cls = nn.MaxPool2d if t == 'maxPooling2d' else nn.AvgPool2d
            mods.append(cls(k, s, ceil_mode=same))
            size = (lambda n, kk, ss: math.ceil(n / ss)) if same else (lambda n, kk, ss: (n - kk) // ss + 1)
            shape = [c, size(h, k[0], s[0]), size(w, k[1], s[1])]
        elif t == 'globalAveragePooling2d':
            mods += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
            shape = [shape[0]]
        elif t == 'flatten':
            mods.append(nn.Flatten())
            shape = [int(np.prod(shape))]
        elif t == 'dense':
            mods.append(nn.Linear(shape[0], L['units'], bias=L.get('useBias', True)))
            mods += activation(L.get('activation'), last)
            shape = [L['units']]
        elif t == 'dropout':
            mods.append(nn.Dropout(L['rate']))
        elif t == 'batchNormalization':
            bn = nn.BatchNorm2d if len(shape) == 3 else nn.BatchNorm1d
            mods.append(bn(shape[0], eps=L.get('epsilon', 1e-3), momentum=1 - L.get('momentum', 0.99)))
        elif t == 'activation':
            mods += activation(L['activation'], last)
        elif t == 'zeroPadding2d':
            p = L.get('padding', 1)
            (pt, pb), (pl, pr) = ((p, p), (p, p)) if isinstance(p, int) else (pair(p[0], None), pair(p[1], None))
            mods.append(nn.ZeroPad2d((pl, pr, pt, pb)))
            shape = [shape[0], shape[1] + pt + pb, shape[2] + pl + pr]
        else:
            raise SystemExit(f'torch_from_config.py: layer type {t} is not supported')
    return nn.Sequential(*mods)


def optimizer(params, cfg):
    t, lr = cfg.get('type', 'adam'), cfg.get('learningRate')
    if t == 'adam':
        return torch.optim.Adam(params, lr=lr or 1e-3, betas=(cfg.get('beta1', 0.9), cfg.get('beta2', 0.999)), eps=cfg.get('epsilon', 1e-7))
    if t == 'sgd':
        return torch.optim.SGD(params, lr=lr or 0.01, momentum=cfg.get('momentum', 0), nesterov=cfg.get('nesterov', False))
    if t == 'rmsprop':
        return torch.optim.RMSprop(params, lr=lr or 1e-3, alpha=cfg.get('rho', 0.9), momentum=cfg.get('momentum', 0), eps=cfg.get('epsilon', 1e-7))
    if t == 'adagrad':
        return torch.optim.Adagrad(params, lr=lr or 0.01, initial_accumulator_value=cfg.get('initialAccumulatorValue', 0.1))
    raise SystemExit(f'torch_from_config.py: optimizer {t} is not supported')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('experiment')
    ap.add_argument('data')
    ap.add_argument('--epochs', type=int, default=1)
    ap.add_argument('--limit', type=int, default=10000)
    ap.add_argument('--batch-size', type=int)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--json', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.experiment) as f:
        e = yaml.safe_load(f)
    training = e['training']
    batch = a.batch_size or training.get('batchSize', 32)
    x, y = load_train(a.data, a.limit)
    model = build(e['model']['layers'], [3, 32, 32])
    opt = optimizer(model.parameters(), training.get('optimizer', {}))
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, a.epochs + 1):
        model.train()
        order = torch.randperm(len(y))
        total, start, cpu = 0.0, time.perf_counter(), time.process_time()
        for i in range(0, len(y), batch):
            idx = order[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - start
        # CPU seconds of this process (all its threads): on a shared machine, with 1 thread, the work
        # itself, where wall time also counts the wait for a core.
        cpu = time.process_time() - cpu
        row = {'epoch': epoch, 'loss': total / len(y), 'seconds': seconds, 'samples_per_second': len(y) / seconds,
               'cpu_seconds': cpu, 'samples_per_cpu_second': len(y) / cpu}
        print(json.dumps(row) if a.json else f"epoch {epoch}  loss {row['loss']:.4f}  {row['samples_per_second']:,.0f} samples/s")


if __name__ == '__main__':
    main()
