#!/usr/bin/env python3
"""The reference for benchmarks/serve_bench.sh: the same model (median imputation,
standardization, least squares on data/house_prices.csv) in scikit-learn, served by Flask
(threaded, the usual way to put a scikit-learn model behind HTTP) with the same request
and response shape as `mlops serve`.
  serve_flask.py DATA.csv PORT"""
import logging
import sys

import pandas as pd
from flask import Flask, jsonify, request
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data, port = sys.argv[1], int(sys.argv[2])
df = pd.read_csv(data)
features = [c for c in df.columns if c != "price"]
model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression())
model.fit(df[features], df["price"])
app = Flask(__name__)
logging.getLogger("werkzeug").setLevel(logging.ERROR)


@app.post("/v1/models/<name>:predict")
def predict(name):
    rows = request.get_json(force=True)["instances"]
    x = pd.DataFrame(rows, columns=features)
    return jsonify({"predictions": model.predict(x).tolist(), "model_version": "1"})


app.run(host="127.0.0.1", port=port, threaded=True)
