package dev.plateau.model;

import java.util.Arrays;

/**
 * One layer of a model's trainable head, the dense chain from {@code head.embedding} to the
 * output. Weights are held as {@code y = W x + b} with {@code W} row-major {@code [out][in]},
 * whatever layout the graph stores them in.
 */
public sealed interface HeadLayer permits HeadLayer.Dense, HeadLayer.Relu {

    int inputs();

    int outputs();

    /** A fully connected layer; {@code name} is the ONNX node it came from. */
    record Dense(String name, int inputs, int outputs, float[] weight, float[] bias) implements HeadLayer {
        public Dense {
            if (inputs < 1 || outputs < 1) {
                throw new IllegalArgumentException("dense layer " + name + ": sizes must be >= 1, found "
                        + outputs + "x" + inputs);
            }
            if (weight.length != inputs * outputs || bias.length != outputs) {
                throw new IllegalArgumentException("dense layer " + name + ": expected " + outputs + "x" + inputs
                        + " weights and " + outputs + " biases, found " + weight.length + " and " + bias.length);
            }
            weight = weight.clone();
            bias = bias.clone();
        }

        @Override
        public float[] weight() {
            return weight.clone();
        }

        @Override
        public float[] bias() {
            return bias.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Dense d && d.name.equals(name) && d.inputs == inputs && d.outputs == outputs
                    && Arrays.equals(d.weight, weight) && Arrays.equals(d.bias, bias);
        }

        @Override
        public int hashCode() {
            return name.hashCode() * 31 + Arrays.hashCode(weight);
        }

        @Override
        public String toString() {
            return "Dense[" + name + ", " + outputs + "x" + inputs + "]";
        }
    }

    /** Element-wise max(0, x); {@code size} is its width. */
    record Relu(String name, int size) implements HeadLayer {
        @Override
        public int inputs() {
            return size;
        }

        @Override
        public int outputs() {
            return size;
        }
    }
}
