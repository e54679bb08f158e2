#!/usr/bin/env python3
"""The project's PyTorch reference: the network of any pipeline experiment file, built in PyTorch.

Stacks and graphs alike (named layers, `inputs`, merge layers, blocks already expanded), initialized as
tfjs initializes them (the file's initializers, tfjs's fans and its truncated normal), trained as
`pipeline run` trains (optimizer, weight decay, learning-rate schedule per epoch, batch size, random crop
and flip, loss), on exactly the examples `pipeline run` uses. bench/dump-experiment.ts writes both the
resolved experiment and those examples:

    node dist/bench/dump-experiment.js configs/cifar-resnet.yaml /tmp/resnet \\
        --set dataset.limit.train=5000 --set dataset.limit.test=2000 [--check 3]
    /usr/bin/python3 bench/torch_from_config.py /tmp/resnet [--epochs 3] [--seed 0] [--threads 1]

Modes:
  (default)  accuracy: one JSON line per epoch (loss, accuracy, testAccuracy, learningRate, seconds,
             samplesPerSecond), after a first line with the parameter count, which must equal
             `pipeline inspect`'s total (batch-norm moving statistics included, as tfjs counts them).
  --speed    the same training without the test evaluation (npm run bench and bench/families.ts);
             seconds and samplesPerSecond are the training loop's, batch preparation included.
  --check    same weights in, same numbers out: loads the pipeline's initial weights and replays its
             first steps (dump-experiment --check STEPS), comparing every tensor (bench/torch_check.py).
             Models with dropout differ there by design (other masks).

Needs Debian's python3-torch (apt-get install -y python3-torch), which brings numpy.

Layout: PyTorch runs NCHW; TensorFlow.js NHWC. Channel axes are mapped, and a flatten permutes to NHWC
first, so a dense layer after it sees the same order. Padding 'same' pads as TensorFlow does (the extra
row/column at the bottom/right, which matters for stride 2).
"""
import argparse, json, math, os, re, sys, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MERGES = {'add', 'multiply', 'average', 'maximum', 'subtract', 'concatenate'}


def pair(v):
    return (v, v) if isinstance(v, int) else (v[0], v[1])


def same_pad(size, k, s, d=1):
    """TensorFlow's 'same' padding (before, after) for one axis."""
    eff = (k - 1) * d + 1
    out = math.ceil(size / s)
    total = max((out - 1) * s + eff - size, 0)
    return total // 2, total - total // 2


def init_(w, name, fan_in, fan_out):
    """TensorFlow.js initializers by name, with tfjs's fans: fan_in/fan_out are the kernel's input/output
    channels times its receptive field (a depthwise kernel [kh, kw, c, m]: c * kh * kw in, m * kh * kw out)."""
    if name == 'zeros':
        return nn.init.zeros_(w)
    if name == 'ones':
        return nn.init.ones_(w)
    scale, mode, dist = {
        'glorotUniform': (1.0, 'avg', 'uniform'), 'glorotNormal': (1.0, 'avg', 'normal'),
        'heUniform': (2.0, 'in', 'uniform'), 'heNormal': (2.0, 'in', 'normal'),
        'leCunUniform': (1.0, 'in', 'uniform'), 'leCunNormal': (1.0, 'in', 'normal'),
    }.get(name, (None, None, None))
    if scale is None:
        raise SystemExit(f'initializer {name} is not mapped in the PyTorch reference')
    n = {'in': fan_in, 'avg': (fan_in + fan_out) / 2}[mode]
    if dist == 'uniform':
        limit = math.sqrt(3 * scale / n)
        return nn.init.uniform_(w, -limit, limit)
    # tfjs 4.22 draws truncatedNormal(0, sqrt(scale / n)), cut at 2 standard deviations and NOT rescaled
    # (Keras/TF 2 divide by 0.8796 so that the cut distribution's deviation is sqrt(scale / n)): the
    # weights' deviation is 0.88 * sqrt(scale / n). Drawn the same way here.
    std = math.sqrt(scale / n)
    return nn.init.trunc_normal_(w, 0, std, -2 * std, 2 * std)


class Conv(nn.Module):
    """conv2d / depthwiseConv2d with TensorFlow's padding and initializers."""

    def __init__(self, cfg, shape, depthwise=False):
        super().__init__()
        h, w, c = shape
        self.k, self.s = pair(cfg['kernelSize']), pair(cfg['strides'])
        self.d = pair(cfg.get('dilationRate', 1))
        self.padding = cfg['padding']
        out = c * cfg['depthMultiplier'] if depthwise else cfg['filters']
        self.conv = nn.Conv2d(c, out, self.k, self.s, dilation=self.d, groups=c if depthwise else 1, bias=cfg['useBias'])
        kh, kw = self.k
        if depthwise:
            init_(self.conv.weight, cfg['depthwiseInitializer'], kh * kw * c, kh * kw * cfg['depthMultiplier'])
        else:
            init_(self.conv.weight, cfg['kernelInitializer'], kh * kw * c, kh * kw * out)
        if self.conv.bias is not None:
            init_(self.conv.bias, cfg['biasInitializer'], 0, 0)
        self.act = activation(cfg.get('activation', 'linear'))

    def forward(self, x):
        if self.padding == 'same':
            (t, b), (l, r) = (same_pad(x.shape[2], self.k[0], self.s[0], self.d[0]), same_pad(x.shape[3], self.k[1], self.s[1], self.d[1]))
            x = F.pad(x, (l, r, t, b))
        return self.act(self.conv(x))


def activation(name, max_value=None):
    if name in ('linear', None):
        return nn.Identity()
    if name == 'relu':
        return nn.Hardtanh(0, max_value) if max_value else nn.ReLU()
    if name == 'relu6':
        return nn.ReLU6()
    if name == 'hardSigmoid':  # tfjs: clip(0.2 x + 0.5, 0, 1), not PyTorch's x / 6 + 0.5
        return Lambda(lambda x: torch.clamp(0.2 * x + 0.5, 0, 1))
    if name == 'softmax':
        return nn.Softmax(dim=1)
    table = {'elu': nn.ELU, 'selu': nn.SELU, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid, 'softplus': nn.Softplus,
             'softsign': nn.Softsign, 'swish': nn.SiLU, 'mish': nn.Mish}
    if name not in table:
        raise SystemExit(f'activation {name} is not mapped in the PyTorch reference')
    return table[name]()


class Lambda(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, *xs):
        return self.fn(*xs)


def channel_axis(axis, rank):
    """A Keras axis (batch = 0, channels last) as the NCHW axis."""
    a = axis if axis >= 0 else rank + 1 + axis
    if rank == 3:
        return {1: 2, 2: 3, 3: 1}[a]
    return a


def build_layer(cfg, shapes):
    """One layer as a module, and its output shape (NHWC, without the batch)."""
    t = cfg['type']
    shape = shapes[0]
    if t == 'conv2d':
        m = Conv(cfg, shape)
    elif t == 'depthwiseConv2d':
        m = Conv(dict(cfg, activation=cfg.get('activation', 'linear')), shape, depthwise=True)
    elif t == 'batchNormalization':
        bn = nn.BatchNorm2d(shape[-1], eps=cfg['epsilon'], momentum=1 - cfg['momentum'], affine=cfg['scale'] and cfg['center'])
        m = bn if len(shape) == 3 else nn.BatchNorm1d(shape[-1], eps=cfg['epsilon'], momentum=1 - cfg['momentum'])
    elif t == 'activation':
        m = activation(cfg['activation'])
    elif t == 'relu':
        m = activation('relu', cfg.get('maxValue'))
    elif t == 'dropout':
        m = nn.Dropout(cfg['rate'])
    elif t in ('maxPooling2d', 'averagePooling2d'):
        k, s = pair(cfg['poolSize']), pair(cfg.get('strides') or cfg['poolSize'])
        if cfg['padding'] != 'valid':
            raise SystemExit(f'{t} padding same is not mapped in the PyTorch reference')
        m = (nn.MaxPool2d if t == 'maxPooling2d' else nn.AvgPool2d)(k, s)
    elif t == 'globalAveragePooling2d':
        m = Lambda(lambda x: x.mean(dim=(2, 3)))
    elif t == 'globalMaxPooling2d':
        m = Lambda(lambda x: x.amax(dim=(2, 3)))
    elif t == 'flatten':
        m = Lambda(lambda x: x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x.flatten(1))
    elif t == 'dense':
        lin = nn.Linear(shape[-1], cfg['units'], bias=cfg['useBias'])
        init_(lin.weight, cfg['kernelInitializer'], shape[-1], cfg['units'])
        if lin.bias is not None:
            init_(lin.bias, cfg['biasInitializer'], 0, 0)
        m = nn.Sequential(lin, activation(cfg.get('activation', 'linear')))
    elif t == 'zeroPadding2d':
        p = cfg['padding']
        (top, bottom), (left, right) = ((p, p), (p, p)) if isinstance(p, int) else (((p[0], p[0]), (p[1], p[1])) if isinstance(p[0], int) else p)
        m = Lambda(lambda x: F.pad(x, (left, right, top, bottom)))
    elif t in MERGES:
        if t == 'concatenate':
            ax = channel_axis(cfg['axis'], len(shape))
            m = Lambda(lambda *xs: torch.cat(xs, dim=ax))
        else:
            fn = {'add': lambda *xs: sum(xs[1:], xs[0]), 'multiply': lambda *xs: math.prod(xs[1:], start=xs[0]),
                  'average': lambda *xs: sum(xs[1:], xs[0]) / len(xs), 'maximum': lambda *xs: torch.stack(xs).amax(0),
                  'subtract': lambda a, b: a - b}[t]
            m = Lambda(fn)
    else:
        raise SystemExit(f'layer type {t} is not mapped in the PyTorch reference')
    return m


class GraphNet(nn.Module):
    """The experiment's layers as a graph: each layer's inputs by name, `input` the model input."""

    def __init__(self, layers, outputs, input_shape, shapes_by_name):
        super().__init__()
        counts = {}
        self.names, self.inputs = [], []
        for i, cfg in enumerate(layers):
            t = cfg['type']
            counts[t] = counts.get(t, 0) + 1
            default = re.sub(r'[A-Z]+', lambda m: '_' + m.group(0).lower(), t) + f'_{counts[t]}'
            self.names.append(cfg.get('name', default))
        for i, cfg in enumerate(layers):
            ins = cfg.get('inputs')
            ins = [ins] if isinstance(ins, str) else ins
            self.inputs.append(ins if ins is not None else ([self.names[i - 1]] if i > 0 else ['input']))
        self.output = outputs[0] if outputs else self.names[-1]
        self.order = self._order()
        self.mods = nn.ModuleDict()
        shapes = {'input': input_shape, **shapes_by_name}
        for i in self.order:
            self.mods[self.names[i]] = build_layer(layers[i], [shapes[n] for n in self.inputs[i]])

    def _order(self):
        done, order = {'input'}, []
        while len(order) < len(self.names):
            i = next(i for i, n in enumerate(self.names) if n not in done and all(x in done for x in self.inputs[i]))
            done.add(self.names[i])
            order.append(i)
        return order

    def forward(self, x):
        values = {'input': x}
        for i in self.order:
            values[self.names[i]] = self.mods[self.names[i]](*[values[n] for n in self.inputs[i]])
        return values[self.output]


def learning_rate(base, sched, epoch, epochs):
    """src/builders/schedules.ts learningRateAt, ported."""
    warm = sched.get('warmupEpochs', 0)
    if epoch < warm:
        return base * (epoch + 1) / (warm + 1)
    e, n = epoch - warm, max(1, epochs - warm)
    t = sched['type']
    if t == 'constant':
        return base
    if t == 'step':
        return base * sched['gamma'] ** (e // sched['stepSize'])
    if t == 'exponential':
        return base * sched['decayRate'] ** e
    if t == 'cosine':
        lo = sched['minLearningRate']
        return lo + 0.5 * (base - lo) * (1 + math.cos(math.pi * e / max(1, n - 1)))
    raise SystemExit(f'schedule {t} is not mapped')


def load(dump, split, shape):
    x = np.fromfile(os.path.join(dump, f'{split}-x.u8'), dtype=np.uint8).reshape(-1, *shape)
    y = np.fromfile(os.path.join(dump, f'{split}-y.u8'), dtype=np.uint8).astype(np.int64)
    return torch.from_numpy(x.copy()).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(y)


def normalize(x, norm):
    x = x.float() / 255.0
    if norm['type'] == 'standardize':
        mean = torch.tensor(norm['mean']).view(1, -1, 1, 1)
        std = torch.tensor(norm['std']).view(1, -1, 1, 1)
        x = (x - mean) / std
    return x


def augment(x, aug, gen):
    """Random crop (zero padding of the raw pixels, as the pipeline) and horizontal flip, per example."""
    pad = (aug.get('randomCrop') or {}).get('padding', 0)
    n, _, h, w = x.shape
    if pad:
        padded = F.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
        x = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
    if aug.get('horizontalFlip'):
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    return x


def optimizer_for(model, opt):
    """The file's optimizer; weightDecay as torch.optim's weight_decay, which is what the pipeline applies."""
    t, lr, wd = opt['type'], opt['learningRate'], opt.get('weightDecay', 0) or 0
    params = model.parameters()
    if t == 'sgd':
        return torch.optim.SGD(params, lr=lr, momentum=opt['momentum'], nesterov=opt['nesterov'], weight_decay=wd)
    if t == 'adam':
        return torch.optim.Adam(params, lr=lr, betas=(opt['beta1'], opt['beta2']), eps=opt['epsilon'], weight_decay=wd)
    if t == 'rmsprop':
        return torch.optim.RMSprop(params, lr=lr, alpha=opt['rho'], momentum=opt['momentum'], eps=opt['epsilon'], weight_decay=wd)
    if t == 'adagrad':
        return torch.optim.Adagrad(params, lr=lr, initial_accumulator_value=opt['initialAccumulatorValue'], weight_decay=wd)
    raise SystemExit(f'optimizer {t} is not mapped in the PyTorch reference')


def loss_for(name):
    """The file's loss as a function of (outputs, labels), the batch mean as src/builders/losses.ts computes it."""
    if name == 'softmaxCrossEntropy':
        return F.cross_entropy
    if name == 'categoricalCrossentropy':  # on probabilities, clipped as tfjs clips them
        return lambda p, y: F.nll_loss(torch.log(p.clamp(1e-7, 1 - 1e-7)), y)
    raise SystemExit(f'loss {name} is not mapped in the PyTorch reference')


def check_supported(e):
    for i, cfg in enumerate(e['model']['layers']):
        if cfg.get('kernelRegularizer') or cfg.get('biasRegularizer'):
            raise SystemExit(f'layer {i}: regularizers are not mapped in the PyTorch reference')


def train_epoch(model, opt, loss_fn, data, e, bs, gen):
    """One epoch; returns (loss, accuracy, seconds). The seconds are the training loop's, batch preparation
    (normalization, augmentation) included, as the pipeline's samplesPerSecond counts them."""
    x_all, y_all = data
    ds = e['dataset']
    perm = torch.randperm(len(y_all), generator=gen) if ds['shuffle'] else torch.arange(len(y_all))
    model.train()
    loss_sum, correct, t0 = 0.0, 0, time.perf_counter()
    for b in range(0, len(perm), bs):
        idx = perm[b:b + bs]
        x = normalize(augment(x_all[idx], ds.get('augment') or {}, gen), ds['normalize'])
        out = model(x)
        loss = loss_fn(out, y_all[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(idx)
        correct += (out.argmax(1) == y_all[idx]).sum().item()
    return loss_sum / len(perm), correct / len(perm), time.perf_counter() - t0


def test_accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, len(y), 500)) / len(y)


def arguments():
    ap = argparse.ArgumentParser(description='The PyTorch reference: an experiment file\'s network, trained as pipeline run trains it.')
    ap.add_argument('dump', help='folder written by dist/bench/dump-experiment.js')
    ap.add_argument('--epochs', type=int, help="epochs to train (default: the file's; the schedule spans these)")
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0, help='initial weights, shuffling and augmentation draws')
    ap.add_argument('--batch-size', type=int, help="default: the file's training.batchSize")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument('--speed', action='store_true', help='time training alone: no test evaluation')
    mode.add_argument('--check', action='store_true', help="compare with the pipeline's first steps (dump-experiment --check)")
    return ap.parse_args()


def main():
    args = arguments()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.dump, 'experiment.json')))
    e, shape = meta['experiment'], meta['shape']
    check_supported(e)
    # Output shapes by layer name, from the pipeline's own inference, give each module its input size.
    shapes = {row['name']: row['outputShape'] for row in meta['layers']}
    model = GraphNet(e['model']['layers'], e['model'].get('outputs'), shape, shapes)
    params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if n.endswith(('running_mean', 'running_var')))
    print(json.dumps({'parameters': params, 'pipelineParameters': meta['totalParams']}), flush=True)
    t = e['training']
    if args.check:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from torch_check import check
        return check(args.dump, model, shape, optimizer_for(model, t['optimizer']), loss_for(t['loss']))
    train = load(args.dump, 'train', shape)
    te_x, te_y = load(args.dump, 'test', shape)
    te_x = normalize(te_x, e['dataset']['normalize'])
    epochs = args.epochs or t['epochs']
    opt = optimizer_for(model, t['optimizer'])
    loss_fn = loss_for(t['loss'])
    gen = torch.Generator().manual_seed(args.seed)
    sched = t.get('schedule') or {'type': 'constant'}
    for epoch in range(epochs):
        lr = learning_rate(t['optimizer']['learningRate'], sched, epoch, epochs)
        for g in opt.param_groups:
            g['lr'] = lr
        # CPU seconds of this process (all its threads) beside wall time: on a shared machine, with 1 thread,
        # the work itself, where wall time also counts the wait for a core.
        cpu = time.process_time()
        loss, acc, seconds = train_epoch(model, opt, loss_fn, train, e, args.batch_size or t['batchSize'], gen)
        cpu = time.process_time() - cpu
        row = {'epoch': epoch + 1, 'loss': loss, 'accuracy': acc}
        if not args.speed:
            row['testAccuracy'] = test_accuracy(model, te_x, te_y)
        row.update({'learningRate': lr, 'seconds': round(seconds, 2), 'samplesPerSecond': round(len(train[1]) / seconds, 1),
                    'cpuSeconds': round(cpu, 2)})
        print(json.dumps(row), flush=True)


if __name__ == '__main__':
    main()
