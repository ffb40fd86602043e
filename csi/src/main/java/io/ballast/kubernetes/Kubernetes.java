package io.ballast.kubernetes;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The API client and the facts of the pod this process runs in. */
public final class Kubernetes {
    private static final Path NAMESPACE_FILE = Path.of("/var/run/secrets/kubernetes.io/serviceaccount/namespace");
    private static final String DEFAULT_NAMESPACE = "ballast-system";

    private Kubernetes() {
    }

    /** A client configured the usual way: in-cluster service account, else KUBECONFIG / ~/.kube/config. */
    public static KubernetesClient client() {
        return new KubernetesClientBuilder().build();
    }

    /** This pod's namespace (from its service account), else {@value #DEFAULT_NAMESPACE}. */
    public static String podNamespace() {
        try {
            String ns = Files.readString(NAMESPACE_FILE).trim();
            return ns.isEmpty() ? DEFAULT_NAMESPACE : ns;
        } catch (IOException e) {
            return DEFAULT_NAMESPACE;
        }
    }
}
