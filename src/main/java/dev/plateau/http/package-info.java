/**
 * The optional local HTTP server ({@code http} in the device config): Prometheus metrics at
 * {@code /metrics}, health and a local inference API in the Open Inference Protocol (KServe v2)
 * under {@code /v2}, and a status page at {@code /}. It has no logic of its own: it reads the
 * device through a {@link dev.plateau.http.DeviceView}, the same health view the fleet's MQTT
 * health message is made from, and infers through the sources' own pipeline.
 *
 * <p>Offers {@link dev.plateau.http.HttpService} (start, stop) and the contract the daemon
 * fulfils: {@link dev.plateau.http.DeviceView} and its records. The rest is package-private.
 */
package dev.plateau.http;
