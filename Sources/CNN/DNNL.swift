import CDNNL

/// The oneDNN CPU engine and stream shared by every layer, plus small helpers over its C API.
///
/// oneDNN (Debian's libdnnl 2.6, OpenMP threads) holds every hot loop of this module:
/// convolutions, pooling, batch normalisation and matrix products (`dnnl_sgemm`). Primitive
/// creation failing for shapes that Swift code has already validated is a programming error
/// (or an unsupported configuration), so it stops with the oneDNN status and the operation.
enum DNNL {
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine create")
        return e!
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "stream create")
        return s!
    }()

    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        if status != dnnl_success {
            fatalError("oneDNN: \(what()) failed with status \(status.rawValue)")
        }
    }

    /// A memory descriptor of `dims` with an explicit layout tag (or `dnnl_format_tag_any`).
    static func desc(_ dims: [Int], _ type: dnnl_data_type_t = dnnl_f32,
                     _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        let d = dims.map { dnnl_dim_t($0) }
        let t = dimArray(d)
        check(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), t, type, tag), "memory desc \(dims)")
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

    /// Row-major C = alpha * op(A) * op(B) + beta * C through oneDNN's sgemm (AVX-512 kernels).
    static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        check(dnnl_sgemm(CChar(UInt8(ascii: transA ? "T" : "N")), CChar(UInt8(ascii: transB ? "T" : "N")),
                         dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), alpha, a, dnnl_dim_t(lda),
                         b, dnnl_dim_t(ldb), beta, c, dnnl_dim_t(ldc)), "sgemm \(m)x\(n)x\(k)")
    }
}

/// A oneDNN memory object over a buffer (ours, or allocated by oneDNN).
final class DNNLMemory {
    let handle: dnnl_memory_t
    let desc: dnnl_memory_desc_t

    /// Memory over `pointer`, which must outlive every use of this object.
    init(_ desc: dnnl_memory_desc_t, pointer: UnsafeMutableRawPointer?) {
        var md = desc
        var m: dnnl_memory_t?
        DNNL.check(dnnl_memory_create(&m, &md, DNNL.engine, pointer ?? CDNNL_MEMORY_NONE), "memory create")
        handle = m!
        self.desc = desc
    }

    /// Memory whose buffer oneDNN allocates and owns.
    convenience init(allocating desc: dnnl_memory_desc_t) {
        self.init(desc, pointer: CDNNL_MEMORY_ALLOCATE)
    }

    func setPointer(_ p: UnsafeMutableRawPointer) {
        DNNL.check(dnnl_memory_set_data_handle(handle, p), "set data handle")
    }

    var pointer: UnsafeMutableRawPointer {
        var p: UnsafeMutableRawPointer?
        DNNL.check(dnnl_memory_get_data_handle(handle, &p), "get data handle")
        return p!
    }

    deinit { dnnl_memory_destroy(handle) }
}

/// A oneDNN primitive with its descriptor.
final class DNNLPrimitive {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    /// Creates the primitive from an operation descriptor (a conv/pool/bnorm desc struct).
    init<Op>(op: inout Op, attr: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil, _ what: String) {
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafePointer(to: &op) { p in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(p), attr, DNNL.engine, hint?.pd)
        }
        DNNL.check(status, "primitive descriptor for \(what)")
        self.pd = pd!
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, self.pd), "primitive for \(what)")
        primitive = prim!
    }

    /// The primitive, or nil when oneDNN has no implementation for the operation.
    init?<Op>(ifSupported op: inout Op, attr: dnnl_primitive_attr_t? = nil) {
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafePointer(to: &op) { p in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(p), attr, DNNL.engine, nil)
        }
        guard status == dnnl_success, let pd else { return nil }
        self.pd = pd
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, pd), "primitive")
        primitive = prim!
    }

    /// A reorder (layout and/or data-type conversion) from `src` to `dst`.
    init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) {
        var s = src, d = dst
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_reorder_primitive_desc_create(&pd, &s, DNNL.engine, &d, DNNL.engine, nil), "reorder")
        self.pd = pd!
        var prim: dnnl_primitive_t?
        DNNL.check(dnnl_primitive_create(&prim, self.pd), "reorder primitive")
        primitive = prim!
    }

    /// The memory descriptor of an argument (e.g. `dnnl_query_weights_md`, index 0).
    func md(_ what: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, what, index).pointee
    }

    /// The oneDNN implementation chosen ("brgconv:avx512_core", "jit:avx512_core_bf16", ...).
    var implementation: String { String(cString: cdnnl_impl_info(pd)) }

    func execute(_ args: [(Int32, DNNLMemory)]) {
        let a = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
        DNNL.check(dnnl_primitive_execute(primitive, DNNL.stream, Int32(a.count), a), "execute")
        DNNL.check(dnnl_stream_wait(DNNL.stream), "stream wait")
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }
}

/// Runs `body` with a oneDNN memory over a tensor that the primitive only reads (a source, weights,
/// a gradient coming in). No copy: a `var` copy plus a mutable pointer would duplicate the
/// storage (copy-on-write), hundreds of megabytes per layer for 224x224 batches.
func withMemory<R>(reading t: Tensor, _ desc: dnnl_memory_desc_t, _ body: (DNNLMemory) -> R) -> R {
    t.scalars.withUnsafeBufferPointer { p in
        body(DNNLMemory(desc, pointer: UnsafeMutableRawPointer(mutating: p.baseAddress!)))
    }
}

/// Runs `body` with oneDNN memories over the tensors' storage (plain row-major layout tags).
/// The memories are only valid inside `body`.
func withMemory<R>(_ t: inout Tensor, _ desc: dnnl_memory_desc_t, _ body: (DNNLMemory) -> R) -> R {
    t.scalars.withUnsafeMutableBufferPointer { p in
        body(DNNLMemory(desc, pointer: UnsafeMutableRawPointer(p.baseAddress!)))
    }
}
