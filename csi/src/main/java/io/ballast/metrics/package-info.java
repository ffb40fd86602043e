/**
 * Prometheus metrics of the node (volumes, replicas, frontends) and of the controller (cluster
 * health, repairs), and the HTTP endpoint that serves them.
 */
package io.ballast.metrics;
