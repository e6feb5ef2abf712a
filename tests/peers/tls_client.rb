# secure_connect from "Socket Programming Concepts" (TLS/SSL Encryption), unchanged, and a
# few lines that use it: send each argument after the third as a line, print each answer.
#   ruby tls_client.rb HOST PORT CA_FILE LINE...
require 'socket'
require 'openssl'

# Client with certificate verification
def secure_connect(host, port, ca_file)
  tcp_socket = TCPSocket.new(host, port)

  ssl_context = OpenSSL::SSL::SSLContext.new
  ssl_context.ca_file = ca_file
  ssl_context.verify_mode = OpenSSL::SSL::VERIFY_PEER

  ssl_socket = OpenSSL::SSL::SSLSocket.new(tcp_socket, ssl_context)
  ssl_socket.connect
  ssl_socket.post_connection_check(host)

  ssl_socket
end

host, port, ca_file, *lines = ARGV
socket = secure_connect(host, Integer(port), ca_file)
$stdout.sync = true
puts "tls #{socket.ssl_version} #{socket.cipher.first}"
lines.each do |line|
  socket.puts line
  puts socket.gets
end
socket.close
