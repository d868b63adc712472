import CDNNL

/// The oneDNN CPU engine and stream shared by every layer, plus small helpers over its C API.
///
/// oneDNN (Debian's libdnnl 2.6, OpenMP threads) holds every hot loop of this module:
/// convolutions, pooling, batch normalisation and matrix products (`dnnl_sgemm`). Every call that
/// can fail throws `CNNError.oneDNN` naming the layer and the operation, so that a bad shape or
/// an unsupported configuration ends one command with a message instead of stopping the process.
/// Every primitive is checked at creation by `KernelGuard` (no reference implementations).
enum DNNL {
    private nonisolated(unsafe) static let engineResult: Result<dnnl_engine_t, CNNError> = {
        var e: dnnl_engine_t?
        let status = dnnl_engine_create(&e, dnnl_cpu, 0)
        guard status == dnnl_success, let e else { return .failure(error(status, "create the CPU engine")) }
        return .success(e)
    }()

    private nonisolated(unsafe) static let streamResult: Result<dnnl_stream_t, CNNError> = {
        do {
            var s: dnnl_stream_t?
            try check(dnnl_stream_create(&s, try engine(), dnnl_stream_default_flags.rawValue), "create the CPU stream")
            return .success(s!)
        } catch let e as CNNError {
            return .failure(e)
        } catch {
            return .failure(.oneDNN(operation: "create the CPU stream", status: "\(error)"))
        }
    }()

    /// The CPU engine every memory and primitive belongs to.
    static func engine() throws -> dnnl_engine_t { try engineResult.get() }
    /// The stream every primitive executes on (in order, waited for after each execution).
    static func stream() throws -> dnnl_stream_t { try streamResult.get() }

    /// OpenMP threads of every oneDNN call (0: the runtime's default, one per CPU of the affinity
    /// mask). libgomp keeps the count per calling thread, so it is applied before each execution
    /// (`applyThreads`), whichever thread calls the network.
    nonisolated(unsafe) static var threads = 0

    static func applyThreads() {
        if threads > 0 { omp_set_num_threads(Int32(threads)) }
    }

    /// oneDNN's status as a word ("unimplemented", "out_of_memory", ...).
    static func statusName(_ status: dnnl_status_t) -> String {
        switch status {
        case dnnl_success: return "success"
        case dnnl_out_of_memory: return "out_of_memory"
        case dnnl_invalid_arguments: return "invalid_arguments"
        case dnnl_unimplemented: return "unimplemented (no implementation for this shape, type or CPU)"
        case dnnl_iterator_ends: return "iterator_ends"
        case dnnl_runtime_error: return "runtime_error"
        case dnnl_not_required: return "not_required"
        default: return "status \(status.rawValue)"
        }
    }

    static func error(_ status: dnnl_status_t, _ what: String) -> CNNError {
        .oneDNN(operation: what, status: statusName(status))
    }

    /// Throws `CNNError.oneDNN` naming `what` (the layer and operation) unless `status` is success.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
        if status != dnnl_success { throw error(status, what()) }
    }

    /// A memory descriptor of `dims` with an explicit layout tag (or `dnnl_format_tag_any`).
    static func desc(_ dims: [Int], _ type: dnnl_data_type_t = dnnl_f32,
                     _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }
        let t = dimArray(d)
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), t, type, tag), "describe a memory of \(dims)")
        return md
    }

    /// A `dnnl_dims_t` argument (a fixed 12-element C array parameter, i.e. a pointer) as a
    /// Swift array padded to 12, passed by implicit array-to-pointer conversion. (Taking the
    /// address of a tuple's first element is not a pointer to the whole tuple in optimised
    /// builds.)
    static func dimArray(_ d: [dnnl_dim_t]) -> [dnnl_dim_t] {
        d + [dnnl_dim_t](repeating: 0, count: 12 - d.count)
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    static func bytes(_ md: dnnl_memory_desc_t) -> Int {
        var md = md
        return Int(dnnl_memory_desc_get_size(&md))
    }

    /// Row-major C = alpha * op(A) * op(B) + beta * C through oneDNN's sgemm (JIT kernels for the
    /// CPU's ISA: AVX-512, AVX2 or SSE4.1).
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, _ what: @autoclosure () -> String) throws {
        if m == 0 || n == 0 { return }
        applyThreads()
        try check(dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                             dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda),
                             b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc)), "\(what()) (sgemm \(m)x\(n)x\(k))")
    }
}

/// A oneDNN memory object over a buffer (ours, or allocated by oneDNN).
final class DNNLMemory {
    let handle: dnnl_memory_t
    let desc: dnnl_memory_desc_t

    /// Memory over `pointer`, which must outlive every use of this object.
    init(_ desc: dnnl_memory_desc_t, pointer: UnsafeMutableRawPointer?) throws {
        var md = desc
        var m: dnnl_memory_t?
        try DNNL.check(dnnl_memory_create(&m, &md, try DNNL.engine(), pointer ?? CDNNL_MEMORY_NONE),
                       "create a memory of \(DNNL.bytes(desc)) bytes")
        handle = m!
        self.desc = desc
    }

    /// Memory whose buffer oneDNN allocates and owns.
    convenience init(allocating desc: dnnl_memory_desc_t) throws {
        try self.init(desc, pointer: CDNNL_MEMORY_ALLOCATE)
    }

    func setPointer(_ p: UnsafeMutableRawPointer) throws {
        try DNNL.check(dnnl_memory_set_data_handle(handle, p), "set a memory's buffer")
    }

    /// The buffer (non-nil for memories created over or with a buffer).
    var pointer: UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        _ = dnnl_memory_get_data_handle(handle, &p)
        return p!
    }

    deinit { dnnl_memory_destroy(handle) }
}

/// A oneDNN primitive with its descriptor. Every primitive is checked at creation by
/// `KernelGuard`: oneDNN's reference (scalar C++) implementations are recorded and warned about.
final class DNNLPrimitive {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// What the primitive computes, for messages ("block1_conv1 forward").
    let what: String

    /// Creates the primitive from an operation descriptor (a conv/pool/bnorm desc struct).
    convenience init<Op>(op: inout Op, attr: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil, _ what: String) throws {
        var pd: dnnl_primitive_desc_t?
        let engine = try DNNL.engine()
        let status = withUnsafePointer(to: &op) { p in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(p), attr, engine, hint?.pd)
        }
        try DNNL.check(status, "create the primitive for \(what)")
        try self.init(descriptor: pd!, what)
    }

    /// The primitive, or nil when oneDNN has no implementation for the operation or only its
    /// reference one (used to try an algorithm, e.g. Winograd, before the default).
    convenience init?<Op>(ifFast op: inout Op, attr: dnnl_primitive_attr_t? = nil, _ what: String) throws {
        var pd: dnnl_primitive_desc_t?
        let engine = try DNNL.engine()
        let status = withUnsafePointer(to: &op) { p in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(p), attr, engine, nil)
        }
        guard status == dnnl_success, let pd else { return nil }
        if KernelChoice.isReference(String(cString: cdnnl_impl_info(pd))) {
            dnnl_primitive_desc_destroy(pd)
            return nil
        }
        try self.init(descriptor: pd, what)
    }

    /// A reorder (layout and/or data-type conversion) from `src` to `dst`.
    convenience init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t, _ what: String) throws {
        var s = src, d = dst
        var pd: dnnl_primitive_desc_t?
        let engine = try DNNL.engine()
        try DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, nil), "create the reorder for \(what)")
        try self.init(descriptor: pd!, what)
    }

    /// Takes ownership of `pd`, creates the primitive and reports its implementation to `KernelGuard`.
    private init(descriptor pd: dnnl_primitive_desc_t, _ what: String) throws {
        self.pd = pd
        self.what = what
        var prim: dnnl_primitive_t?
        let status = dnnl_primitive_create(&prim, pd)
        guard status == dnnl_success, let prim else {
            dnnl_primitive_desc_destroy(pd)
            throw DNNL.error(status, "create the primitive for \(what)")
        }
        primitive = prim
        KernelGuard.record(choice)
    }

    /// The memory descriptor of an argument (e.g. `dnnl_query_weights_md`, index 0).
    func md(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, query, index).pointee
    }

    /// The oneDNN implementation chosen ("brgconv:avx512_core", "jit:avx2", ...).
    var implementation: String { String(cString: cdnnl_impl_info(pd)) }

    /// What this primitive is and which implementation runs it.
    var choice: KernelChoice {
        var kind = dnnl_undefined_primitive
        _ = dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &kind)
        var propagation = dnnl_prop_kind_undef
        _ = dnnl_primitive_desc_query(pd, dnnl_query_prop_kind, 0, &propagation)
        return KernelChoice(operation: what, implementation: implementation, kind: String(cString: dnnl_prim_kind2str(kind)),
                            isForward: propagation == dnnl_forward_training || propagation == dnnl_forward_inference)
    }

    func execute(_ args: [(Int32, DNNLMemory)]) throws {
        let a = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        let stream = try DNNL.stream()
        DNNL.applyThreads()
        try DNNL.check(dnnl_primitive_execute(primitive, stream, Int32(a.count), a), "run \(what)")
        try DNNL.check(dnnl_stream_wait(stream), "wait for \(what)")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }
}

/// Runs `body` with a oneDNN memory over a tensor that the primitive only reads (a source, weights,
/// a gradient coming in). No copy: a `var` copy plus a mutable pointer would duplicate the
/// storage (copy-on-write), hundreds of megabytes per layer for 224x224 batches.
func withMemory<R>(reading t: Tensor, _ desc: dnnl_memory_desc_t, _ body: (DNNLMemory) throws -> R) throws -> R {
    try t.scalars.withUnsafeBufferPointer { p in
        try body(try DNNLMemory(desc, pointer: UnsafeMutableRawPointer(mutating: p.baseAddress!)))
    }
}

/// Runs `body` with oneDNN memories over the tensors' storage (plain row-major layout tags).
/// The memories are only valid inside `body`.
func withMemory<R>(_ t: inout Tensor, _ desc: dnnl_memory_desc_t, _ body: (DNNLMemory) throws -> R) throws -> R {
    try t.scalars.withUnsafeMutableBufferPointer { p in
        try body(try DNNLMemory(desc, pointer: UnsafeMutableRawPointer(p.baseAddress!)))
    }
}
