//! Names the subgraphs of an ONNX model that ONNX Runtime saved from an `.ort` file.
//!
//! The `.ort` format keeps no subgraph names, so the ONNX that ONNX Runtime writes from one has
//! `If` branches with empty names, which ONNX's checker refuses when the file is loaded back.
//! This walks the protobuf wire format (`ModelProto.graph` → `GraphProto.node` →
//! `NodeProto.attribute` → `AttributeProto.g` / `.graphs`, recursively) and gives every graph
//! without a name one (`subgraph_1`, …); every other byte is copied as it is. Hand-written because
//! only these five fields matter: a generated ONNX schema crate would be far more code to carry.

/// Protobuf field numbers of the ONNX schema (onnx.proto3).
const MODEL_GRAPH: u32 = 7;
const GRAPH_NODE: u32 = 1;
const GRAPH_NAME: u32 = 2;
const NODE_ATTRIBUTE: u32 = 5;
const ATTRIBUTE_GRAPH: u32 = 6;
const ATTRIBUTE_GRAPHS: u32 = 11;

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LENGTH_DELIMITED: u64 = 2;
const FIXED32: u64 = 5;

/// The bytes are not a well-formed protobuf message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// `model` (a serialized `ModelProto`) with every unnamed graph named.
pub(crate) fn name_subgraphs(model: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut named = 0;
    rewrite(model, &mut |field, payload| {
        (field == MODEL_GRAPH)
            .then(|| graph(payload, &mut named))
            .transpose()
    })
}

fn graph(bytes: &[u8], named: &mut usize) -> Result<Vec<u8>, Malformed> {
    let mut has_name = false;
    let mut out = rewrite(bytes, &mut |field, payload| match field {
        GRAPH_NODE => node(payload, named).map(Some),
        GRAPH_NAME => {
            has_name |= !payload.is_empty();
            Ok(None)
        }
        _ => Ok(None),
    })?;
    if !has_name {
        *named += 1;
        put_field(&mut out, GRAPH_NAME, format!("subgraph_{named}").as_bytes());
    }
    Ok(out)
}

fn node(bytes: &[u8], named: &mut usize) -> Result<Vec<u8>, Malformed> {
    rewrite(bytes, &mut |field, payload| {
        (field == NODE_ATTRIBUTE)
            .then(|| attribute(payload, named))
            .transpose()
    })
}

fn attribute(bytes: &[u8], named: &mut usize) -> Result<Vec<u8>, Malformed> {
    rewrite(bytes, &mut |field, payload| {
        matches!(field, ATTRIBUTE_GRAPH | ATTRIBUTE_GRAPHS)
            .then(|| graph(payload, named))
            .transpose()
    })
}

/// A length-delimited field's new payload, given its number and payload; `None` keeps it.
type Replace<'a> = dyn FnMut(u32, &[u8]) -> Result<Option<Vec<u8>>, Malformed> + 'a;

/// Copies the message `bytes`, replacing the payload of each length-delimited field for which
/// `replace(field, payload)` gives new bytes.
fn rewrite(bytes: &[u8], replace: &mut Replace<'_>) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::with_capacity(bytes.len() + 64);
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let key = varint(bytes, &mut pos)?;
        let field = u32::try_from(key >> 3).map_err(|_| Malformed)?;
        match key & 7 {
            VARINT => {
                varint(bytes, &mut pos)?;
            }
            FIXED64 => pos = skip(bytes, pos, 8)?,
            FIXED32 => pos = skip(bytes, pos, 4)?,
            LENGTH_DELIMITED => {
                let len = usize::try_from(varint(bytes, &mut pos)?).map_err(|_| Malformed)?;
                let end = skip(bytes, pos, len)?;
                if let Some(new) = replace(field, &bytes[pos..end])? {
                    put_field(&mut out, field, &new);
                    pos = end;
                    continue;
                }
                pos = end;
            }
            _ => return Err(Malformed),
        }
        out.extend_from_slice(&bytes[start..pos]);
    }
    Ok(out)
}

fn skip(bytes: &[u8], pos: usize, len: usize) -> Result<usize, Malformed> {
    let end = pos.checked_add(len).ok_or(Malformed)?;
    if end > bytes.len() {
        return Err(Malformed);
    }
    Ok(end)
}

fn varint(bytes: &[u8], pos: &mut usize) -> Result<u64, Malformed> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos).ok_or(Malformed)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_field(out: &mut Vec<u8>, field: u32, payload: &[u8]) {
    put_varint(out, (u64::from(field) << 3) | LENGTH_DELIMITED);
    put_varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_field(&mut out, number, payload);
        out
    }

    fn varint_field(number: u32, value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3);
        put_varint(&mut out, value);
        out
    }

    /// A node with an `If`-like attribute holding `branch` as its graph.
    fn node_with_branch(branch: &[u8]) -> Vec<u8> {
        let mut attribute = field(1, b"then_branch");
        attribute.extend(field(ATTRIBUTE_GRAPH, branch));
        attribute.extend(varint_field(20, 5));
        let mut node = field(4, b"If");
        node.extend(field(NODE_ATTRIBUTE, &attribute));
        node
    }

    /// The names of `graph` and of the graphs below it, depth first.
    fn names(graph: &[u8], out: &mut Vec<String>) {
        rewrite(graph, &mut |f, payload| {
            match f {
                GRAPH_NAME => out.push(String::from_utf8(payload.to_vec()).unwrap()),
                GRAPH_NODE => {
                    rewrite(payload, &mut |f, attribute| {
                        if f == NODE_ATTRIBUTE {
                            rewrite(attribute, &mut |f, sub| {
                                if f == ATTRIBUTE_GRAPH {
                                    names(sub, out);
                                }
                                Ok(None)
                            })?;
                        }
                        Ok(None)
                    })?;
                }
                _ => {}
            }
            Ok(None)
        })
        .unwrap();
    }

    #[test]
    fn unnamed_nested_graphs_get_names_and_named_ones_keep_theirs() {
        let inner = node_with_branch(&field(GRAPH_NODE, &field(4, b"Add")));
        let branch = field(GRAPH_NODE, &inner);
        let mut top = field(GRAPH_NODE, &node_with_branch(&branch));
        top.extend(field(GRAPH_NAME, b"main"));
        let mut model = varint_field(1, 8);
        model.extend(field(MODEL_GRAPH, &top));
        model.extend(field(8, b"opset"));

        let named = name_subgraphs(&model).unwrap();
        let mut graph = None;
        rewrite(&named, &mut |f, payload| {
            if f == MODEL_GRAPH {
                graph = Some(payload.to_vec());
            }
            Ok(None)
        })
        .unwrap();
        let mut found = Vec::new();
        names(&graph.unwrap(), &mut found);
        assert_eq!(found, ["subgraph_1", "subgraph_2", "main"]);
        assert!(named.ends_with(&field(8, b"opset")), "other fields kept");
        assert_eq!(
            name_subgraphs(&named).unwrap(),
            named,
            "nothing left to name"
        );
    }

    #[test]
    fn truncated_input_is_malformed() {
        let model = field(MODEL_GRAPH, &field(GRAPH_NAME, b"main"));
        assert_eq!(name_subgraphs(&model[..model.len() - 1]), Err(Malformed));
        assert_eq!(name_subgraphs(&[0x80]), Err(Malformed));
        assert_eq!(name_subgraphs(&[0x0f]), Err(Malformed), "wire type 7");
    }
}
