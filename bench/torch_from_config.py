#!/usr/bin/env python3
"""The project's PyTorch reference for graph experiments.

Builds the network of a pipeline experiment -- stacks and graphs alike: named
layers, `inputs`, merge layers, blocks already expanded -- in PyTorch, and trains
it as `pipeline run` would (optimizer, weight decay, learning-rate schedule,
batch size, random crop and flip, softmax cross-entropy), on exactly the examples
`pipeline run` uses. Both come from bench/dump-experiment.ts:

    node dist/bench/dump-experiment.js configs/cifar-resnet.yaml /tmp/resnet \\
        --set dataset.limit.train=5000 --set dataset.limit.test=2000
    /usr/bin/python3 bench/torch_from_config.py /tmp/resnet --epochs 3 --threads 1

Needs Debian's python3-torch (apt-get install -y python3-torch). Prints one JSON
line per epoch (loss, accuracy, testAccuracy, learningRate, seconds) and the
parameter count, which must equal `pipeline inspect`'s total.

Layout: PyTorch runs NCHW; TensorFlow.js NHWC. Channel axes are mapped, and a
flatten permutes to NHWC first, so a dense layer after it sees the same order.
Padding 'same' pads as TensorFlow does (the extra row/column at the bottom/right).
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
    table = {'elu': nn.ELU, 'selu': nn.SELU, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid, 'softplus': nn.Softplus, 'softsign': nn.Softsign}
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
    wd = opt.get('weightDecay', 0) or 0
    if opt['type'] == 'sgd':
        return torch.optim.SGD(model.parameters(), lr=opt['learningRate'], momentum=opt['momentum'], nesterov=opt['nesterov'], weight_decay=wd)
    if opt['type'] == 'adam':
        return torch.optim.Adam(model.parameters(), lr=opt['learningRate'], betas=(opt['beta1'], opt['beta2']), eps=opt['epsilon'], weight_decay=wd)
    raise SystemExit(f"optimizer {opt['type']} is not mapped")


def tf_to_torch(t, shape, module):
    """A tfjs weight (layout `shape`) as the PyTorch parameter of `module` it maps to."""
    a = torch.from_numpy(np.asarray(t, dtype=np.float32).reshape(shape))
    if isinstance(module, nn.Conv2d) and len(shape) == 4:
        if module.groups > 1:  # depthwise [kh, kw, c, mult] -> [c * mult, 1, kh, kw]
            return a.permute(2, 3, 0, 1).reshape(-1, 1, shape[0], shape[1]).contiguous()
        return a.permute(3, 2, 0, 1).contiguous()
    if isinstance(module, nn.Linear) and len(shape) == 2:
        return a.t().contiguous()
    return a


def torch_module(mod):
    """The nn.Module of a layer that holds its weights (conv, linear or batch norm)."""
    if isinstance(mod, Conv):
        return mod.conv
    if isinstance(mod, nn.Sequential):
        return mod[0]
    return mod


BN_NAMES = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean', 'moving_variance': 'running_var'}


def tensor_of(model, layer, name):
    m = torch_module(model.mods[layer])
    short = name.split('/')[-1]
    attr = BN_NAMES.get(short) or {'kernel': 'weight', 'depthwise_kernel': 'weight', 'bias': 'bias'}[short]
    return m, getattr(m, attr)


def check(dump, model, e, shape):
    """Loads the pipeline's initial weights, replays its first steps on the same batches, and compares."""
    d = os.path.join(dump, 'check')
    w = np.fromfile(os.path.join(d, 'weights.f32'), dtype=np.float32)
    s = np.fromfile(os.path.join(d, 'steps.f32'), dtype=np.float32)
    meta, steps = json.load(open(os.path.join(d, 'weights.json'))), json.load(open(os.path.join(d, 'steps.json')))
    at = lambda buf, r: buf[r['offset']:r['offset'] + r['length']]
    init_ratio = []
    with torch.no_grad():
        for L in meta['layers']:
            for r in L['weights']:
                m, t = tensor_of(model, L['layer'], r['name'])
                theirs = at(w, r)
                if theirs.size > 100 and theirs.std() > 0:  # the initializers: same distribution, other draws
                    init_ratio.append((r['name'], float(t.std() / theirs.std())))
                t.copy_(tf_to_torch(theirs, r['shape'], m))
    lo, hi = min(init_ratio, key=lambda r: r[1]), max(init_ratio, key=lambda r: r[1])
    print(json.dumps({'initialStdRatio': {'min': lo, 'max': hi}, 'tensors': len(init_ratio)}))
    opt = optimizer_for(model, e['training']['optimizer'])
    for g in opt.param_groups:
        g['lr'] = meta['learningRate']
    hw = shape
    rows = []

    def compare(what, ours, theirs):
        ours, theirs = np.asarray(ours, dtype=np.float64).ravel(), np.asarray(theirs, dtype=np.float64).ravel()
        # Relative to the larger of the values' scale and 1e-6: a conv bias before batch norm has a gradient of
        # 0 in exact arithmetic, rounding noise (~1e-9) on both sides.
        scale = max(np.abs(theirs).max(), 1e-6)
        err = float(np.abs(ours - theirs).max() / scale)
        rows.append((what, err, float(np.abs(theirs).max()), float(np.abs(ours).max())))
        return err

    to_nchw = lambda flat, n: torch.from_numpy(flat.reshape(n, *hw).copy()).permute(0, 3, 1, 2).contiguous()
    for k, st in enumerate(steps['steps']):
        x, y = to_nchw(at(s, st['x']), st['size']), torch.tensor(st['y'], dtype=torch.int64)
        model.eval()
        with torch.no_grad():
            compare(f'step {k + 1}: inference logits before', model(x).numpy(), at(s, st['inferenceLogitsBefore']))
        model.train()
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        compare(f'step {k + 1}: loss', loss.item(), st['loss'])
        if st.get('gradients'):
            for var, r in st['gradients'].items():
                v = steps['varToLayer'][var]
                layer = next(L for L in meta['layers'] if L['layer'] == v['layer'])
                spec = layer['weights'][v['index']]
                m, t = tensor_of(model, v['layer'], spec['name'])
                compare(f"step {k + 1}: gradient {spec['name']}", t.grad.numpy(), tf_to_torch(at(s, r), spec['shape'], m).numpy())
        opt.step()
    for L in steps['after']:
        for r in L['weights']:
            m, t = tensor_of(model, L['layer'], r['name'])
            compare(f"after: {r['name']}", t.detach().numpy(), tf_to_torch(at(s, r), r['shape'], m).numpy())
    model.eval()
    with torch.no_grad():
        tx = to_nchw(at(s, steps['test']['x']), steps['test']['size'])
        compare('after: test inference logits', model(tx).numpy(), at(s, steps['test']['logits']))
    worst = max(rows, key=lambda r: r[1])
    for what, err, a, b in sorted(rows, key=lambda r: -r[1])[:int(os.environ.get('CHECK_ROWS', 15))]:
        print(json.dumps({'check': what, 'maxRelativeError': err, 'pipelineMaxAbs': a, 'referenceMaxAbs': b}))
    print(json.dumps({'checked': len(rows), 'worst': worst[0], 'maxRelativeError': worst[1], 'backend': meta['backend']}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dump', help='folder written by dist/bench/dump-experiment.js')
    ap.add_argument('--epochs', type=int)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--check', action='store_true', help="compare with the pipeline's first steps (dump-experiment --check)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    meta = json.load(open(os.path.join(args.dump, 'experiment.json')))
    e, shape = meta['experiment'], meta['shape']
    # Output shapes by layer name, from the pipeline's own inference, give each module its input size.
    shapes = {row['name']: row['outputShape'] for row in meta['layers']}
    model = GraphNet(e['model']['layers'], e['model'].get('outputs'), shape, shapes)
    params = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if n.endswith(('running_mean', 'running_var')))
    print(json.dumps({'parameters': params, 'pipelineParameters': meta['totalParams']}), flush=True)
    if args.check:
        return check(args.dump, model, e, shape)
    tr_x, tr_y = load(args.dump, 'train', shape)
    te_x, te_y = normalize(*[load(args.dump, 'test', shape)[0]], e['dataset']['normalize']), load(args.dump, 'test', shape)[1]
    t = e['training']
    epochs = args.epochs or t['epochs']
    opt = optimizer_for(model, t['optimizer'])
    gen = torch.Generator().manual_seed(args.seed)
    bs = t['batchSize']
    for epoch in range(epochs):
        lr = learning_rate(t['optimizer']['learningRate'], t['schedule'], epoch, t['epochs'] if args.epochs is None else epochs)
        for g in opt.param_groups:
            g['lr'] = lr
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(tr_y), generator=gen) if e['dataset']['shuffle'] else torch.arange(len(tr_y))
        loss_sum, correct = 0.0, 0
        for b in range(0, len(perm), bs):
            idx = perm[b:b + bs]
            x = normalize(augment(tr_x[idx], e['dataset']['augment'], gen), e['dataset']['normalize'])
            out = model(x)
            loss = F.cross_entropy(out, tr_y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == tr_y[idx]).sum().item()
        seconds = time.time() - t0
        model.eval()
        with torch.no_grad():
            hits = sum((model(te_x[i:i + 500]).argmax(1) == te_y[i:i + 500]).sum().item() for i in range(0, len(te_y), 500))
        print(json.dumps({'epoch': epoch + 1, 'loss': loss_sum / len(perm), 'accuracy': correct / len(perm), 'testAccuracy': hits / len(te_y),
                          'learningRate': lr, 'seconds': round(seconds, 1), 'samplesPerSecond': round(len(perm) / seconds, 1)}), flush=True)


if __name__ == '__main__':
    main()
