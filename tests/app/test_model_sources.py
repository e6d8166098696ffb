"""One cache of loaded models: loaded once, shared between threads, most recent kept."""

import threading
import time

from resnet_studio.app import model_sources
from resnet_studio.app.model_sources import ModelSourceCache


def test_same_model_is_loaded_once_even_from_two_threads(monkeypatch):
    import resnet_studio.core.weights as weights

    loads = []

    def slow_load(model, w, **kwargs):
        loads.append((model, w))
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(weights, "load_model_source", slow_load)
    cache = ModelSourceCache(size=2)
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("resnet20", "random")))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [("resnet20", "random")] and got[0] is got[1]
    cache.get("resnet32", "random")
    cache.get("resnet44", "random")  # evicts resnet20, the least recently used
    assert not cache.cached("resnet20", "random") and cache.cached("resnet44", "random")


def test_a_real_model_with_random_weights_and_a_lease():
    cache = ModelSourceCache()
    with cache.lease("resnet20", "random") as source:
        assert source.spec.name == "resnet20" and source.kind == "random"
        assert sum(p.numel() for p in source.model.parameters()) == 269_722
    assert cache.get("resnet20", "random") is source
    assert model_sources.model_key(source.spec, None)[0].startswith("spec:")
