/// # CNN: the shared CNN core of SonoKit
///
/// NHWC float32 tensors (`Tensor`), layers with forward and backward passes (`Conv2D`,
/// `MaxPool2D`, `GlobalAveragePool`, `Dense`, `Dropout`, `BatchNorm`, `ReLU`), the loss
/// (`BinaryCrossEntropy`: sigmoid + binary cross-entropy from logits, per-sample weights),
/// optimisers (`Adam`, `SGD`) and schedules (`LearningRateSchedule`), the architectures
/// (`Architecture.vgg16`, `.small`) and weight files (`SafeTensors`, Keras `.h5` via `KerasH5`,
/// `Model.loadWeights`, `Model.saveWeights`). Every hot loop runs in oneDNN (Debian libdnnl 2.6):
/// convolutions with fused bias + ReLU, pooling, batch normalisation, ReLU, and matrix products
/// (`dnnl_sgemm`).
///
/// ## What a training loop uses
///
/// ```swift
/// CNNRuntime.retainFreedMemory()                       // once per process: reuse step buffers
/// var rng = SplitMix64(seed: seed)                      // every random stream from one seed
/// let model = try Architecture.named("vgg16").make(rng: &rng)   // base frozen, head trainable
/// try model.loadWeights(from: try PretrainedWeights.vgg16ImageNet())  // or a user's .h5/.safetensors
/// try model.unfreeze(["block5"])                        // optional fine-tuning, by block or layer name
///
/// // Frozen base: pooled features once per frame (cacheable), then the head only.
/// let features = try model.features(images)             // (N, 224, 224, 3) -> (N, 512)
/// var ctx = ForwardContext(training: true, rng: dropoutStream)
/// let logits = try model.logits(features: features, context: &ctx)    // or logits(images:context:)
/// let (loss, dLogits) = BinaryCrossEntropy.lossAndGradient(logits: logits, labels: y, weights: w)
/// model.backward(dLogits)                                // gradients of trainable parameters
/// optimizer.learningRate = schedule.learningRate(base: lr, epoch: epoch)
/// optimizer.step(model.trainableParameters)
///
/// // Checkpoints: every tensor by name, optimiser state by name, RNG state as a value.
/// try SafeTensors.write(model.namedTensors.merging(optimizer.state()) { a, _ in a }, to: url)
/// try model.load(namedTensors: ...); try optimizer.load(state: ..., parameters: model.trainableParameters)
/// ```
///
/// `print(model)` gives a Keras-`summary()`-like table. Frozen layers at the start of the network
/// run as one compiled oneDNN pipeline (`Model.frozenPrecision` fp32 or bf16, Winograd
/// convolutions by default, chunks of `frozenChunkSize` images) and keep no activations.
public enum CNNModule {}
