# The seed's own framing helpers ("Partial Reads and Writes" in "Socket Programming
# Concepts": read_exact, write_all, send_message, receive_message), used as a client of the
# length-prefixed echo server: every message goes out as [len].pack('N') + bytes and the
# framed reply is printed on a line of its own.
#   ruby length_prefix_client.rb PORT MESSAGE...
require 'socket'

def read_exact(socket, length)
  data = String.new

  while data.bytesize < length
    chunk = socket.read(length - data.bytesize)

    if chunk.nil? || chunk.empty?
      raise EOFError, "Connection closed after #{data.bytesize} of #{length} bytes"
    end

    data << chunk
  end

  data
end

def write_all(socket, data)
  written = 0

  while written < data.bytesize
    begin
      n = socket.write_nonblock(data.byteslice(written..-1))
      written += n
    rescue IO::WaitWritable
      # Send buffer full, wait for space
      IO.select(nil, [socket])
      retry
    end
  end

  written
end

# Message framing with length prefix
def send_message(socket, message)
  length = [message.bytesize].pack('N') # 4-byte network byte order
  write_all(socket, length)
  write_all(socket, message)
end

def receive_message(socket)
  length_bytes = read_exact(socket, 4)
  length = length_bytes.unpack1('N')
  read_exact(socket, length)
end

port = Integer(ARGV.fetch(0))
messages = ARGV.drop(1)

socket = TCPSocket.new('127.0.0.1', port)
messages.each do |message|
  send_message(socket, message)
  puts receive_message(socket)
end
socket.close
