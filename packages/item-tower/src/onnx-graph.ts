/**
 * A small builder of ONNX graphs over `onnx-proto` (the ONNX protobuf schema compiled for JS),
 * enough for the reference towers: float/int64 initializers, nodes with int/float/ints
 * attributes, and inputs/outputs with symbolic batch dimensions.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

type Dim = number | string;
type AttrValue = number | number[] | { float: number };

export class OnnxGraphBuilder {
  private readonly nodes: InstanceType<typeof onnx.NodeProto>[] = [];
  private readonly initializers: InstanceType<typeof onnx.TensorProto>[] = [];
  private readonly inputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private readonly outputs: InstanceType<typeof onnx.ValueInfoProto>[] = [];
  private counter = 0;

  constructor(private readonly name: string) {}

  input(name: string, dtype: 'float32' | 'int64' | 'int32', shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  output(name: string, dtype: 'float32', shape: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, dtype, shape));
  }

  /** Adds a float32 initializer; `data` is stored as raw little-endian bytes. */
  floatTensor(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [...dims],
        dataType: onnx.TensorProto.DataType.FLOAT,
        rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      }),
    );
    return name;
  }

  int64Tensor(name: string, dims: readonly number[], values: readonly number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push(
      onnx.TensorProto.create({
        name,
        dims: [...dims],
        dataType: onnx.TensorProto.DataType.INT64,
        rawData: new Uint8Array(data.buffer),
      }),
    );
    return name;
  }

  /** Adds a node; returns the name of its (first) output. */
  node(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    const out = outputName ?? `${op.toLowerCase()}_${this.counter++}`;
    const attribute = Object.entries(attrs).map(([name, v]) => {
      if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
      if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v.float });
      return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
    });
    this.nodes.push(onnx.NodeProto.create({ opType: op, input: [...inputs], output: [out], name: out, attribute }));
    return out;
  }

  /** Serializes a model with the given opset (default domain only). */
  toBytes(opset: number, producer: { name: string; version: string }, docString: string): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: this.name,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: opset }],
      producerName: producer.name,
      producerVersion: producer.version,
      docString,
      graph,
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dtype: 'float32' | 'int64' | 'int32', shape: readonly Dim[]): InstanceType<typeof onnx.ValueInfoProto> {
  const elemType =
    dtype === 'float32' ? onnx.TensorProto.DataType.FLOAT : dtype === 'int64' ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.INT32;
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
}
