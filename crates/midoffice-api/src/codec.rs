//! The protobuf codec of every generated service and client: `tonic_prost`'s, except that
//! a request that is not valid protobuf is the caller's mistake, answered
//! INVALID_ARGUMENT with the reason [`MALFORMED_MESSAGE`](crate::error::MALFORMED_MESSAGE)
//! rather than INTERNAL (which tells a client the fault is ours and worth retrying).

use std::marker::PhantomData;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// `tonic_prost::ProstCodec` with decode errors mapped (see the module docs).
#[derive(Debug, Clone)]
pub struct MidofficeCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for MidofficeCodec<T, U> {
    fn default() -> Self {
        Self { _pd: PhantomData }
    }
}

impl<T, U> Codec for MidofficeCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = MidofficeDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        MidofficeDecoder(ProstCodec::<T, U>::raw_decoder(BufferSettings::default()))
    }
}

/// `ProstDecoder` whose errors are INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct MidofficeDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for MidofficeDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // The detail of prost's error names a field number and a wire type, never a value.
        self.0
            .decode(buf)
            .map_err(|e| crate::error::malformed_status(e.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
