"""Check mode of the PyTorch reference (torch_from_config.py DUMP --check).

Loads the pipeline's initial weights (written by `dump-experiment.js ... --check STEPS`) into the
reference's network, replays the pipeline's first training steps on the very same batches with the same
optimizer, and compares, tensor by tensor: inference logits, losses, every gradient of the first step,
the weights after the steps (batch-norm moving statistics included) and a test batch's logits. Before
loading, it also compares the spread of the reference's own initial weights with the pipeline's (same
initializer, other draws: the ratio of standard deviations should be near 1).

Prints one JSON line per tensor compared (worst first; CHECK_ROWS of them, default 15) and a summary.
"""
import json, os

import numpy as np
import torch
import torch.nn as nn

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
    if isinstance(getattr(mod, 'conv', None), nn.Conv2d):  # the reference's Conv wrapper
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


def check(dump, model, shape, opt, loss_fn):
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
    for g in opt.param_groups:
        g['lr'] = meta['learningRate']
    rows = []

    def compare(what, ours, theirs):
        ours, theirs = np.asarray(ours, dtype=np.float64).ravel(), np.asarray(theirs, dtype=np.float64).ravel()
        # Relative L2 error, against at least 1e-3: a conv bias before batch norm has a gradient of 0 in
        # exact arithmetic, rounding noise (~1e-7) on both sides.
        err = float(np.linalg.norm(ours - theirs) / max(np.linalg.norm(theirs), 1e-3))
        rows.append((what, err, float(np.abs(theirs).max()), float(np.abs(ours).max())))
        return err

    to_nchw = lambda flat, n: torch.from_numpy(flat.reshape(n, *shape).copy()).permute(0, 3, 1, 2).contiguous()
    for k, st in enumerate(steps['steps']):
        x, y = to_nchw(at(s, st['x']), st['size']), torch.tensor(st['y'], dtype=torch.int64)
        model.eval()
        with torch.no_grad():
            compare(f'step {k + 1}: inference logits before', model(x).numpy(), at(s, st['inferenceLogitsBefore']))
        model.train()
        out = model(x)
        loss = loss_fn(out, y)
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
        print(json.dumps({'check': what, 'relativeError': err, 'pipelineMaxAbs': a, 'referenceMaxAbs': b}))
    print(json.dumps({'checked': len(rows), 'worst': worst[0], 'relativeError': worst[1],
                      'medianRelativeError': float(np.median([r[1] for r in rows])), 'backend': meta['backend']}))
