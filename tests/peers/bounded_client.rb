# Sends one newline-terminated message of SIZE bytes to the bounded receiver ("Buffer
# Overflow Prevention" in "Socket Programming Concepts") and prints the server's one-line
# answer.
#   ruby bounded_client.rb PORT SIZE
require 'socket'

port = Integer(ARGV.fetch(0))
size = Integer(ARGV.fetch(1))

socket = TCPSocket.new('127.0.0.1', port)
socket.write('x' * size + "\n")
abort 'no answer within 20 seconds' unless IO.select([socket], nil, nil, 20)
puts socket.gets
socket.close
