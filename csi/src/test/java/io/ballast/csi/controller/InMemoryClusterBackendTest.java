package io.ballast.csi.controller;

import io.ballast.cluster.ClusterBackend;
import java.util.List;
import java.util.Map;

/** The in-memory backend the conformance tests use is held to the same contract as the real one. */
class InMemoryClusterBackendTest extends ClusterBackendContract {
    @Override
    protected ClusterBackend newBackend(List<Map<String, String>> nodeLabels) {
        InMemoryClusterBackend backend = new InMemoryClusterBackend();
        for (int i = 0; i < nodeLabels.size(); i++) {
            backend.addNode("node-" + (i + 1), nodeLabels.get(i), 4 * Sizes.GIB);
        }
        return backend;
    }
}
