#!/usr/bin/env python3
"""Exports a PyTorch two-tower model (item tower + multi-head query tower) to a reindex bundle.

The recipe for your own model: one forward() argument per ONNX input, named as in bundle.json;
pooling written with plain ops (embedding lookup, mask multiply, sum, divide) so the graph
exports as Gather/Mul/ReduceSum/Div. nn.EmbeddingBag(padding_idx=...) does not export on torch
1.13, and without padding_idx it exports as an ONNX Loop that runs several times slower.

    python3 export_pytorch_bundle.py export OUT_DIR          # writes OUT_DIR/{model,query}.onnx, bundle.json
    python3 export_pytorch_bundle.py run OUT_DIR IN.json OUT.json   # torch's own outputs, for checking

The weights come from a fixed seed (an untrained model): replace ItemTower/QueryTower's
__init__ with your trained modules and keep the forward() signatures.
"""
import json
import sys

import torch
import torch.nn.functional as F

DIM = 64
HEADS = 2
# `weighted` fusion: the score of a query head h against an item is weights[h] * <head_h, item>,
# summed over heads (one weight per head, in head order). `mean` is weights 1/H each; `max` takes
# the best head per item.
FUSION = {"kind": "weighted", "weights": [0.7, 0.3]}
TITLE = {"buckets": 65536, "seed": 1, "maxLength": 48, "charNgramSizes": [3], "cjkBigrams": True}
FEATURES = [
    {"kind": "text", "field": "title", "input": "title_ids", "maskInput": "title_mask", "dtype": "int64", **TITLE},
    {"kind": "categorical", "field": "category", "input": "category_ids", "dtype": "int64", "buckets": 16384, "seed": 2, "pathSeparator": ">", "maxDepth": 3},
    {"kind": "categorical", "field": "brand", "input": "brand_ids", "dtype": "int64", "buckets": 16384, "seed": 3, "pathSeparator": None, "maxDepth": 1},
    {"kind": "categorical", "field": "shop", "input": "shop_ids", "dtype": "int64", "buckets": 65536, "seed": 4, "pathSeparator": None, "maxDepth": 1},
    {"kind": "numeric", "field": "price", "input": "price_bucket", "dtype": "int64", "boundaries": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]},
]
ITEM_INPUTS = ["title_ids", "title_mask", "category_ids", "brand_ids", "shop_ids", "price_bucket"]
QUERY_INPUTS = ["query_ids", "query_mask"]


def masked_mean(table, ids, mask):
    """Mean of the embeddings of the ids where mask is 1: plain ops, no EmbeddingBag."""
    vectors = table(ids) * mask.unsqueeze(-1)
    return vectors.sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)


class ItemTower(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.title = torch.nn.Embedding(TITLE["buckets"], DIM)
        self.category = torch.nn.Embedding(16384, DIM)
        self.brand = torch.nn.Embedding(16384, DIM)
        self.shop = torch.nn.Embedding(65536, DIM)
        self.price = torch.nn.Embedding(15, DIM)  # 0 = missing, then len(boundaries) + 1 buckets
        self.mlp = torch.nn.Linear(5 * DIM, DIM)

    def forward(self, title_ids, title_mask, category_ids, brand_ids, shop_ids, price_bucket):
        # Categorical ids are 0 where a level is missing (the featurizer's padding): mask them out.
        parts = [
            masked_mean(self.title, title_ids, title_mask),
            masked_mean(self.category, category_ids, (category_ids != 0).float()),
            masked_mean(self.brand, brand_ids, (brand_ids != 0).float()),
            masked_mean(self.shop, shop_ids, (shop_ids != 0).float()),
            self.price(price_bucket).squeeze(1),
        ]
        return F.normalize(self.mlp(torch.cat(parts, dim=1)), dim=-1)


class QueryTower(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = torch.nn.Embedding(TITLE["buckets"], DIM)
        self.heads = torch.nn.Linear(DIM, HEADS * DIM)

    def forward(self, query_ids, query_mask):
        pooled = masked_mean(self.tokens, query_ids, query_mask)
        return F.normalize(self.heads(pooled).view(-1, HEADS, DIM), dim=-1)  # [batch, heads, dim]


def models():
    torch.manual_seed(20230430)
    return ItemTower().eval(), QueryTower().eval()


def export(out_dir):
    item, query = models()
    batch, length = 2, TITLE["maxLength"]
    item_example = (
        torch.zeros(batch, length, dtype=torch.int64), torch.zeros(batch, length, dtype=torch.float32),
        torch.zeros(batch, 3, dtype=torch.int64), torch.zeros(batch, 1, dtype=torch.int64),
        torch.zeros(batch, 1, dtype=torch.int64), torch.zeros(batch, 1, dtype=torch.int64),
    )
    torch.onnx.export(
        item, item_example, f"{out_dir}/model.onnx", input_names=ITEM_INPUTS, output_names=["embedding"],
        dynamic_axes={**{n: {0: "batch"} for n in ITEM_INPUTS}, "embedding": {0: "batch"}}, opset_version=17,
    )
    query_example = (torch.zeros(batch, length, dtype=torch.int64), torch.zeros(batch, length, dtype=torch.float32))
    torch.onnx.export(
        query, query_example, f"{out_dir}/query.onnx", input_names=QUERY_INPUTS, output_names=["heads"],
        dynamic_axes={**{n: {0: "batch"} for n in QUERY_INPUTS}, "heads": {0: "batch"}}, opset_version=17,
    )
    bundle = {
        "formatVersion": 1, "name": "pytorch-example", "version": torch.__version__, "dim": DIM,
        "metric": "inner_product", "normalized": True,
        "item": {"model": "model.onnx", "output": "embedding", "features": FEATURES},
        "query": {
            "model": "query.onnx", "output": "heads", "heads": HEADS, "fusion": FUSION,
            "input": {"input": "query_ids", "maskInput": "query_mask", "dtype": "int64", **TITLE},
        },
    }
    with open(f"{out_dir}/bundle.json", "w") as f:
        json.dump(bundle, f, indent=2)


def run(inputs_file, outputs_file):
    """Torch's outputs for featurized inputs ({"item": {name: nested lists}, "query": {...}})."""
    item, query = models()
    with open(inputs_file) as f:
        inputs = json.load(f)
    def tensors(group, names):
        return [torch.tensor(inputs[group][n], dtype=torch.float32 if n.endswith("_mask") else torch.int64) for n in names]
    with torch.no_grad():
        out = {
            "item": item(*tensors("item", ITEM_INPUTS)).tolist(),
            "query": query(*tensors("query", QUERY_INPUTS)).tolist(),
        }
    with open(outputs_file, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "export":
        export(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "run":
        run(sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
