/**
 * What Ballast reads from the Kubernetes API: which nodes host the catalog (no address in any
 * manifest) and a node's zone. Read-only; fabric8's client, configured in-cluster from the pod's
 * service account, or from KUBECONFIG outside a cluster.
 */
package io.ballast.kubernetes;
